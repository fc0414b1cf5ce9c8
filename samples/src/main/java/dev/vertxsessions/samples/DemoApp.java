package dev.vertxsessions.samples;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.health.SessionHealthChecks;
import dev.vertxsessions.micrometer.SessionMeters;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.exporter.logging.LoggingSpanExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.VertxBuilder;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.healthchecks.HealthCheckHandler;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import io.vertx.micrometer.PrometheusScrapingHandler;
import io.vertx.micrometer.VertxPrometheusOptions;
import io.vertx.micrometer.backends.BackendRegistries;
import io.vertx.tracing.opentelemetry.OpenTelemetryTracingFactory;
import java.net.BindException;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * The demo application: every example of the seed guide behind one HTTP server.
 *
 * <p>Run it from the repository root with {@code mvn -q test-compile exec:java} and open http://localhost:8080.
 * It keeps sessions in signed cookies unless {@code SESSION_BACKEND} says otherwise ({@link DemoSettings} lists
 * the environment variables). One verticle instance runs per CPU core; all of them share the one
 * {@link SessionMiddleware}, so the backend (a connection pool, the file sweeper) exists once.
 */
public final class DemoApp {

    private final Vertx vertx;
    private final SessionMiddleware sessions;
    private final String deploymentId;
    private final int port;

    private DemoApp(Vertx vertx, SessionMiddleware sessions, String deploymentId, int port) {
        this.vertx = vertx;
        this.sessions = sessions;
        this.deploymentId = deploymentId;
        this.port = port;
    }

    /**
     * Starts the demo as {@link DemoSettings} reads the environment, prints the URL it listens on, and stops it on
     * Ctrl+C. Exits with status 2 and a message naming the variable when a setting is invalid.
     */
    public static void main(String[] args) throws Exception {
        DemoSettings settings;
        try {
            settings = DemoSettings.fromEnv(System.getenv());
        } catch (IllegalArgumentException e) {
            System.err.println("Cannot start the demo: " + e.getMessage());
            System.exit(2);
            return;
        }
        settings.warnings().forEach(warning -> System.err.println("WARNING: " + warning));
        Vertx vertx = vertx(settings);
        int instances = Runtime.getRuntime().availableProcessors();
        DemoApp app;
        try {
            app = start(vertx, settings.sessionConfig(), settings.port(), instances)
                    .await();
        } catch (Exception e) { // await() rethrows the failure as it is, checked or not
            System.err.println("Cannot start the demo: "
                    + (e instanceof BindException
                            ? "port " + settings.port() + " is in use; choose another with PORT"
                            : e.getMessage()
                                    + (settings.backend() == DemoSettings.Backend.REDIS
                                            ? " (start redis-server, or point REDIS_URL or REDIS_OPTIONS at it)"
                                            : "")));
            vertx.close().await(10, TimeUnit.SECONDS);
            System.exit(1);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                // Closes the verticles and, with them, the session middleware (a close hook on Vert.x). The Future
                // of vertx.close() has no context, so it completes even as the event loops stop.
                vertx.close().await(5, TimeUnit.SECONDS);
                System.out.println("vertx-sessions demo stopped");
            } catch (Exception e) {
                System.err.println("Demo did not stop cleanly: " + e);
            }
        }));
        System.out.println("vertx-sessions demo (" + settings.backend().name().toLowerCase(Locale.ROOT) + " sessions, "
                + instances + " instances) listening on http://localhost:" + app.port() + "/");
    }

    /**
     * Starts the demo: creates the session middleware from {@code config}, waits for its backend to start (a
     * database that cannot be reached or refuses the schema fails the start-up, before any port is opened), and
     * deploys {@code instances} verticles serving HTTP on {@code port} (0 picks a free port, shared by all
     * instances). Fails when the configuration is invalid, the backend cannot start or the port is taken.
     */
    public static Future<DemoApp> start(Vertx vertx, SessionConfig config, int port, int instances) {
        SessionMiddleware sessions;
        try {
            sessions = SessionMiddleware.create(vertx, config);
        } catch (IllegalArgumentException e) {
            return Future.failedFuture(e);
        }
        // SessionMiddleware.start(vertx, config) awaits the same Future, but leaves a middleware that failed to start
        // open: close it here, so that a failed start-up holds no timer or connection.
        // checkHealth() also waits for a store round trip (Redis: a PING), so an unreachable store stops the start-up
        // with its reason instead of a demo that answers 503 on every page.
        if (BackendRegistries.getDefaultNow() != null) {
            SessionMeters.bind(sessions); // beside Vert.x's own meters, in the registry /metrics serves
        }
        return sessions.checkHealth()
                .recover(failure -> sessions.close().transform(closed -> Future.failedFuture(failure)))
                .compose(started -> deploy(vertx, sessions, port, instances));
    }

    private static Future<DemoApp> deploy(Vertx vertx, SessionMiddleware sessions, int port, int instances) {
        List<DemoVerticle> verticles = new CopyOnWriteArrayList<>();
        return vertx.deployVerticle(
                        () -> {
                            DemoVerticle verticle = new DemoVerticle(sessions, port);
                            verticles.add(verticle);
                            return verticle;
                        },
                        new DeploymentOptions().setInstances(instances))
                .map(id ->
                        new DemoApp(vertx, sessions, id, verticles.get(0).server.actualPort()))
                .recover(failure -> sessions.close().transform(closed -> Future.failedFuture(failure)));
    }

    /** Builds Vert.x as the settings ask: with Micrometer metrics in Prometheus format, with OpenTelemetry tracing. */
    static Vertx vertx(DemoSettings settings) {
        VertxBuilder builder = Vertx.builder();
        if (settings.prometheus()) {
            builder.with(new VertxOptions()
                            .setMetricsOptions(new MicrometerMetricsOptions()
                                    .setPrometheusOptions(new VertxPrometheusOptions().setEnabled(true))
                                    .setEnabled(true)))
                    .withMetrics(new MicrometerMetricsFactory());
        }
        if (settings.tracing()) {
            // Each finished span is printed as one line (OpenTelemetry's logging exporter, java.util.logging).
            OpenTelemetry openTelemetry = OpenTelemetrySdk.builder()
                    .setTracerProvider(SdkTracerProvider.builder()
                            .addSpanProcessor(SimpleSpanProcessor.create(LoggingSpanExporter.create()))
                            .build())
                    .build();
            builder.withTracer(new OpenTelemetryTracingFactory(openTelemetry));
        }
        return builder.build();
    }

    /**
     * Returns the router of one verticle instance: the favicon (no session needed), the session middleware, then a
     * body handler (the middleware pauses the request while it loads, so the body waits), the cross-site guard, and
     * every example.
     */
    static Router router(Vertx vertx, SessionMiddleware sessions) {
        Router router = Router.router(vertx);
        Pages.mountFavicon(router);
        // Before the middleware: a health probe gets no session. 200 UP, or 503 DOWN with the store's reason.
        if (BackendRegistries.getDefaultNow() != null) {
            router.get("/metrics").handler(PrometheusScrapingHandler.create());
        }
        router.get("/health")
                .handler(HealthCheckHandler.createWithHealthChecks(
                        SessionHealthChecks.register(HealthChecks.create(vertx), sessions)));
        router.route()
                .handler(sessions)
                .handler(BodyHandler.create(false).setBodyLimit(64 * 1024)) // no uploads
                .handler(new CrossSiteGuard());
        BasicExamples.mount(router, sessions.config().getClock());
        LoginExample.mount(router, sessions.config().getClock());
        CartExample.mount(router);
        WizardExample.mount(router);
        AccountSessionsExample.mount(router, sessions.sessions());
        AdminSessionsExample.mount(router, sessions.sessions());
        return router;
    }

    /** Returns the port the demo listens on. */
    public int port() {
        return port;
    }

    /** Undeploys the verticles and stops the session backend; the Vert.x instance stays up. */
    public Future<Void> close() {
        return vertx.undeploy(deploymentId).eventually(sessions::close);
    }

    /** One instance of the HTTP server; the instances share the middleware and the port. */
    private static final class DemoVerticle extends VerticleBase {

        private final SessionMiddleware sessions;
        private final int port;
        volatile HttpServer server;

        DemoVerticle(SessionMiddleware sessions, int port) {
            this.sessions = sessions;
            this.port = port;
        }

        @Override
        public Future<?> start() {
            // Port 0 would give each instance a port of its own; a negative port makes Vert.x pick one free port that
            // every instance listening on the same negative number shares.
            return vertx.createHttpServer()
                    .requestHandler(router(vertx, sessions))
                    .listen(port == 0 ? -1 : port)
                    .onSuccess(listening -> server = listening);
        }
    }
}
