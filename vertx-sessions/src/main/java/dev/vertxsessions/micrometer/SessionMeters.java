package dev.vertxsessions.micrometer;

import dev.vertxsessions.SessionMetrics;
import dev.vertxsessions.SessionMiddleware;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.vertx.micrometer.backends.BackendRegistries;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * Publishes a middleware's figures to Micrometer ({@code vertx-micrometer-metrics}, an optional dependency): every
 * counter of {@link SessionMetrics} as a counter named {@code vertx.sessions.<counter>} (Prometheus:
 * {@code vertx_sessions_<counter>_total}), and the time of each backend call as the timer
 * {@code vertx.sessions.backend.calls} with a histogram, tagged {@code operation} (load, save, update, delete) and
 * {@code outcome} (success, failure). Every meter is tagged {@code backend} (the manager's name, or
 * {@code custom}). Nothing is counted twice: Vert.x's own meters ({@code vertx_http_server_*},
 * {@code vertx_redis_*}) measure HTTP and the Redis client; these measure sessions.
 */
public final class SessionMeters {

    /** The prefix of every meter's name. */
    public static final String PREFIX = "vertx.sessions.";

    private SessionMeters() {}

    /**
     * Binds {@code middleware} to the registry Vert.x publishes its own metrics to
     * ({@link BackendRegistries#getDefaultNow()}). Throws {@link IllegalStateException} when Vert.x runs without
     * Micrometer metrics.
     */
    public static void bind(SessionMiddleware middleware) {
        MeterRegistry registry = BackendRegistries.getDefaultNow();
        if (registry == null) {
            throw new IllegalStateException("Vert.x runs without Micrometer metrics: build it with "
                    + "Vertx.builder().withMetrics(new MicrometerMetricsFactory(registry)), or pass a registry to "
                    + "SessionMeters.bind(middleware, registry)");
        }
        bind(middleware, registry);
    }

    /** Binds {@code middleware} to {@code registry}. */
    public static void bind(SessionMiddleware middleware, MeterRegistry registry) {
        Objects.requireNonNull(registry, "registry");
        String name = middleware.config().getManagerName();
        Tags tags = Tags.of("backend", name != null ? name : "custom");
        SessionMetrics metrics = middleware.metrics();
        counter(registry, tags, metrics, "loads", "session lookups of requests with a cookie", SessionMetrics::loads);
        counter(
                registry,
                tags,
                metrics,
                "loads.from.saves",
                "loads answered by a save in flight",
                SessionMetrics::loadsFromSaves);
        counter(registry, tags, metrics, "saves", "saves that completed", SessionMetrics::saves);
        counter(registry, tags, metrics, "save.failures", "saves that failed", SessionMetrics::saveFailures);
        counter(registry, tags, metrics, "deletes", "sessions deleted by logout", SessionMetrics::deletes);
        counter(
                registry,
                tags,
                metrics,
                "load.failures",
                "loads the store could not answer",
                SessionMetrics::loadFailures);
        counter(
                registry,
                tags,
                metrics,
                "tampered.cookies",
                "forged, tampered or malformed cookies",
                SessionMetrics::tamperedCookies);
        counter(registry, tags, metrics, "expired", "sessions refused as expired", SessionMetrics::expiredSessions);
        counter(
                registry,
                tags,
                metrics,
                "conflicts",
                "writes dropped because the session was gone",
                SessionMetrics::conflicts);
        counter(
                registry,
                tags,
                metrics,
                "oversize.rejections",
                "saves refused as too large",
                SessionMetrics::oversizeRejections);
        counter(
                registry,
                tags,
                metrics,
                "sweeper.deletions",
                "expired sessions a sweeper deleted",
                SessionMetrics::sweeperDeletions);
        counter(
                registry,
                tags,
                metrics,
                "evictions",
                "sessions evicted to stay within a size limit",
                SessionMetrics::evictions);

        if (middleware.activeSessions() >= 0) {
            Gauge.builder(PREFIX + "active", middleware, SessionMiddleware::activeSessions)
                    .description("sessions the store holds (backends that count them without I/O)")
                    .tags(tags)
                    .register(registry);
        }

        Map<String, Timer> timers = new ConcurrentHashMap<>();
        metrics.addBackendCallListener((operation, succeeded, nanos) -> timers.computeIfAbsent(
                        operation + (succeeded ? ":success" : ":failure"),
                        key -> Timer.builder(PREFIX + "backend.calls")
                                .description("time of the session backend's calls")
                                .tags(tags)
                                .tag("operation", operation)
                                .tag("outcome", succeeded ? "success" : "failure")
                                .publishPercentileHistogram()
                                .register(registry))
                .record(nanos, TimeUnit.NANOSECONDS));
    }

    private static void counter(
            MeterRegistry registry,
            Tags tags,
            SessionMetrics metrics,
            String name,
            String description,
            ToDoubleFunction<SessionMetrics> count) {
        FunctionCounter.builder(PREFIX + name, metrics, count)
                .description(description)
                .tags(tags)
                .register(registry);
    }
}
