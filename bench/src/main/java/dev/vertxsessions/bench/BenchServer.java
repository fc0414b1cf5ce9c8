package dev.vertxsessions.bench;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMiddleware;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.Session;
import io.vertx.ext.web.handler.SessionHandler;
import io.vertx.ext.web.sstore.LocalSessionStore;
import io.vertx.ext.web.sstore.cookie.CookieSessionStore;
import io.vertx.ext.web.sstore.redis.RedisSessionStore;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * Starts one benchmark server on 127.0.0.1: the same two routes behind a different session implementation.
 *
 * <pre>
 *   PORT=8080 java -cp bench/target/benchmarks.jar dev.vertxsessions.bench.BenchServer ours-file
 * </pre>
 *
 * <p>Routes, identical for every server:
 * <ul>
 *   <li>{@code GET /counter}: reads the integer {@code counter} from the session (absent = 0), adds one, stores it and
 *   answers the new number as text;</li>
 *   <li>{@code GET /read}: answers the stored number (0 when absent) without writing.</li>
 * </ul>
 * The {@code ours-*} servers also answer {@code GET /metrics} (their {@code SessionMetrics} as JSON, plus
 * {@code near_cache_entries}) outside the session handler. {@code VALUE_BYTES}: {@code /counter} also stores a
 * string that long (see {@link #counter}); {@code NEAR_CACHE_MAX_ENTRIES}, {@code NEAR_CACHE_MAX_BYTES} and
 * {@code NEAR_CACHE_MAX_LAG_MS} configure the {@code *-cached} servers' near cache.
 * Both use only Vert.x-Web's {@link Session} interface ({@code ctx.session()}), which vertx-sessions' sessions
 * implement too, so every server runs exactly the same handler code. {@code bare} has no session handler: its
 * routes answer "1" and "0" and are the ceiling for the others.
 *
 * <p>The {@code floor-*} servers are {@code bare} answering with the headers ours answer with, and doing nothing
 * else: what our responses cost the client and the HTTP layer, the ceiling for a server of ours on this harness.
 * {@code floor-signed} sends, on every {@code /counter}, a {@code Set-Cookie} as long as {@code ours-signed}'s with
 * the same attributes; {@code floor-server-side} sends an ID cookie like {@code ours-memory}'s when the request has
 * no cookie. Both send {@code Cache-Control: private} on both routes, as ours do on every answer that read a
 * session.
 *
 * <p>Servers: {@code bare}, {@code vertx-local} (SessionHandler + LocalSessionStore), {@code ours-memory}
 * (manager {@code memory}), {@code vertx-cookie} (CookieSessionStore), {@code ours-signed} (default signed
 * cookies), {@code vertx-redis} (RedisSessionStore), {@code ours-redis} (manager {@code redis}), {@code ours-redis-cached} (the same with {@code near_cache}); each of
 * the two with {@code -pooled} (every Redis call borrows a pooled connection, the way before issue 22) or
 * {@code -pipelined} (calls on an event loop pipelined on its one connection) appended, to measure the two side by
 * side whatever the default, {@code ours-file}, {@code ours-file-cached}
 * (file backend in a fresh temporary directory, deleted at exit). The Redis servers connect to {@code REDIS_URL}
 * (default {@code redis://127.0.0.1:6379}) with 16 connections in total: ours one pool of 16, Vert.x-Web one
 * client per verticle with 16 / instances each. {@code INSTANCES} (default: the number of processors) HTTP
 * server verticles; each competitor is built as its documentation says (see {@link #sessionsPerVerticle}).
 *
 * <p>Prints {@code READY <server> <port>} when it listens. Exits with status 3 and a message when the chosen
 * backend is not in this build of vertx-sessions (e.g. the Redis backend before it is merged), 2 on bad usage.
 */
public final class BenchServer {

    /** Exit status when the requested backend class is not on the class path. */
    public static final int EXIT_BACKEND_MISSING = 3;

    static final List<String> SERVERS = List.of(
            "bare",
            "floor-signed",
            "floor-server-side",
            "vertx-local",
            "ours-memory",
            "vertx-cookie",
            "ours-signed",
            "vertx-redis",
            "ours-redis",
            "ours-redis-cached",
            "ours-redis-pooled",
            "ours-redis-pipelined",
            "ours-redis-cached-pooled",
            "ours-redis-cached-pipelined",
            "ours-file",
            "ours-file-cached");

    /** Fixed, public secrets: this is a benchmark, not a deployment. */
    private static final String SECRET = "bench-secret-0123456789abcdef0123456789abcdef";

    private static final String REDIS_BACKEND = "dev.vertxsessions.redis.RedisSessionInterface";
    private static final int REDIS_POOL_SIZE = 16;

    private BenchServer() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 1 || !SERVERS.contains(args[0])) {
            System.err.println("usage: PORT=8080 java -cp benchmarks.jar " + BenchServer.class.getName() + " <server>");
            System.err.println("servers: " + String.join(", ", SERVERS));
            System.exit(2);
        }
        String name = args[0];
        int port = Integer.parseInt(env("PORT", "8080"));
        int instances = Integer.parseInt(
                env("INSTANCES", Integer.toString(Runtime.getRuntime().availableProcessors())));
        String redisUrl = env("REDIS_URL", "redis://127.0.0.1:6379");

        if (name.startsWith("ours-redis") && !onClassPath(REDIS_BACKEND)) {
            System.err.println("BACKEND MISSING: " + REDIS_BACKEND + " is not in this build of vertx-sessions; "
                    + "the ours-redis server cannot run");
            System.exit(EXIT_BACKEND_MISSING);
        }

        if (name.endsWith("-pooled")) {
            // Read once, when the Redis backend's classes load (after this line): an internal, undocumented switch
            // that only this benchmark uses. Without it, calls on an event loop are pipelined (the default).
            System.setProperty("vertx-sessions.redis.connections", "pool");
        }
        String base = name.replace("-pooled", "").replace("-pipelined", "");
        Vertx vertx = Vertx.vertx();
        Path directory = name.startsWith("ours-file") ? Files.createTempDirectory("vertx-sessions-bench-") : null;
        SessionsPerVerticle sessions = sessionsPerVerticle(vertx, base, redisUrl, directory, instances);
        Handler<RoutingContext> shared = name.startsWith("ours-") ? sessions.create(vertx) : null;
        if (shared instanceof SessionMiddleware) {
            // For the server log: how the loads went (e.g. how many took a save in flight instead of reading the
            // store).
            Runtime.getRuntime()
                    .addShutdownHook(new Thread(() -> System.out.println("METRICS "
                            + ((SessionMiddleware) shared).metrics().toJson().encode())));
        }
        if (directory != null) {
            System.out.println("session directory: " + directory);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(directory)));
        }
        Floor floor = Floor.of(name);
        vertx.deployVerticle(
                        () -> new HttpVerticle(sessions, port, floor), new DeploymentOptions().setInstances(instances))
                .onSuccess(id -> System.out.println("READY " + name + " " + port))
                .onFailure(e -> {
                    System.err.println("could not start " + name + ": " + e);
                    System.exit(1);
                });
    }

    /**
     * Makes the session handler of one HTTP server verticle; called inside the verticle's {@code start()}, on its
     * event loop. Returns null for {@code bare}.
     */
    @FunctionalInterface
    public interface SessionsPerVerticle {
        Handler<RoutingContext> create(Vertx vertx);
    }

    /**
     * Returns how each verticle gets its session handler, built the way each library documents it:
     * <ul>
     *   <li>Vert.x-Web: {@code SessionHandler} and its store are created inside each verticle's {@code start()}, so
     *   the store binds to that verticle's context (CookieSessionStore and RedisSessionStore keep the context they
     *   are created on and answer with its futures; a store shared across verticles would make every request hop
     *   event loops). {@code LocalSessionStore.create(vertx)} in every verticle opens the same local map by name, so
     *   sessions are still shared; {@code vertx-redis} gets one Redis client per verticle with a pool of
     *   {@code 16 / instances} connections (16 in total, as ours).</li>
     *   <li>vertx-sessions: one {@link SessionMiddleware} created here, once, and shared by every verticle, as its
     *   README says ("create the middleware once and share it": it is thread-safe).</li>
     * </ul>
     */
    public static SessionsPerVerticle sessionsPerVerticle(
            Vertx vertx, String name, String redisUrl, Path directory, int instances) {
        switch (name) {
            case "bare":
            case "floor-signed":
            case "floor-server-side":
                return v -> null;
            case "vertx-local":
                return v -> SessionHandler.create(LocalSessionStore.create(v));
            case "vertx-cookie":
                return v -> SessionHandler.create(CookieSessionStore.create(v, SECRET));
            case "vertx-redis": {
                int poolPerVerticle = Math.max(1, REDIS_POOL_SIZE / instances);
                return v -> SessionHandler.create(RedisSessionStore.create(
                        v,
                        Redis.createClient(
                                v,
                                new RedisOptions()
                                        .setConnectionString(redisUrl)
                                        .setMaxPoolSize(poolPerVerticle)
                                        .setMaxPoolWaiting(1024))));
            }
            default:
                SessionMiddleware shared = ourMiddleware(vertx, name, redisUrl, directory);
                return v -> shared;
        }
    }

    /** Our middleware for an {@code ours-*} server: created once per process, shared by all verticles. */
    public static SessionMiddleware ourMiddleware(Vertx vertx, String name, String redisUrl, Path directory) {
        switch (name) {
            case "ours-signed":
                return SessionMiddleware.create(vertx, new SessionConfig().setSecretKey(SECRET));
            case "ours-memory": {
                SessionConfig config = new SessionConfig().setManager("memory");
                String max = System.getenv("MEMORY_MAX_SESSIONS"); // memory.sh raises the bound (default 10,000)
                if (max != null && !max.isEmpty()) {
                    config.setBackendOption("memory_max_sessions", Integer.parseInt(max));
                }
                return SessionMiddleware.create(vertx, config);
            }
            case "ours-file":
                return SessionMiddleware.create(
                        vertx,
                        new SessionConfig().setManager("file").setBackendOption("directory", directory.toString()));
            case "ours-file-cached":
                return SessionMiddleware.create(
                        vertx,
                        nearCacheBounds(new SessionConfig()
                                .setManager("file")
                                .setNearCache(true)
                                .setBackendOption("directory", directory.toString())));
            case "ours-redis":
                return SessionMiddleware.create(
                        vertx,
                        new SessionConfig()
                                .setManager("redis")
                                .setBackendOption("redis_url", redisUrl)
                                .setBackendOption("redis_pool_size", REDIS_POOL_SIZE));
            case "ours-redis-cached":
                return SessionMiddleware.create(
                        vertx,
                        nearCacheBounds(new SessionConfig()
                                .setManager("redis")
                                .setNearCache(true)
                                .setBackendOption("redis_url", redisUrl)
                                .setBackendOption("redis_pool_size", REDIS_POOL_SIZE)));
            default:
                throw new IllegalArgumentException("unknown server " + name);
        }
    }

    /**
     * Applies {@code NEAR_CACHE_MAX_ENTRIES}, {@code NEAR_CACHE_MAX_BYTES} and {@code NEAR_CACHE_MAX_LAG_MS}
     * (memory.sh; unset: the library's defaults) to a {@code *-cached} server's configuration and prints the bounds it runs with.
     */
    private static SessionConfig nearCacheBounds(SessionConfig config) {
        String entries = System.getenv("NEAR_CACHE_MAX_ENTRIES");
        if (entries != null && !entries.isEmpty()) {
            config.setNearCacheMaxEntries(Long.parseLong(entries));
        }
        String bytes = System.getenv("NEAR_CACHE_MAX_BYTES");
        if (bytes != null && !bytes.isEmpty()) {
            config.setNearCacheMaxBytes(Long.parseLong(bytes));
        }
        String lag = System.getenv("NEAR_CACHE_MAX_LAG_MS");
        if (lag != null && !lag.isEmpty()) {
            config.setNearCacheMaxLag(java.time.Duration.ofMillis(Long.parseLong(lag)));
        }
        System.out.println("NEAR_CACHE max_entries=" + config.getNearCacheMaxEntries() + " max_bytes="
                + config.getNearCacheMaxBytes());
        return config;
    }

    /** One HTTP server with the two routes; Vert.x spreads connections over the instances. */
    public static final class HttpVerticle extends VerticleBase {
        private final SessionsPerVerticle sessionsPerVerticle;
        private final int port;
        private final Floor floor;

        /** Serves the two routes on 127.0.0.1:{@code port} behind the handler {@code sessions} makes in start(). */
        public HttpVerticle(SessionsPerVerticle sessions, int port) {
            this(sessions, port, null);
        }

        /** The same, answering with {@code floor}'s headers when {@code sessions} makes no handler. */
        HttpVerticle(SessionsPerVerticle sessions, int port, Floor floor) {
            this.sessionsPerVerticle = sessions;
            this.port = port;
            this.floor = floor;
        }

        @Override
        public Future<?> start() {
            Handler<RoutingContext> sessions = sessionsPerVerticle.create(vertx);
            Router router = Router.router(vertx);
            if (sessions == null && floor != null) {
                router.get("/counter").handler(ctx -> floor(ctx, floor, "1", floor.everyCounter()));
                router.get("/read").handler(ctx -> floor(ctx, floor, "0", false));
            } else if (sessions == null) {
                router.get("/counter").handler(ctx -> text(ctx, "1"));
                router.get("/read").handler(ctx -> text(ctx, "0"));
            } else {
                if (sessions instanceof SessionMiddleware middleware) {
                    // Outside the sessions: memory.sh reads near_cache_entries here between its heap readings.
                    router.get("/metrics").handler(ctx -> metrics(ctx, middleware));
                }
                router.route().handler(sessions);
                router.get("/counter").handler(BenchServer::counter);
                router.get("/read").handler(BenchServer::read);
            }
            return vertx.createHttpServer(
                            new HttpServerOptions().setHost("127.0.0.1").setPort(port))
                    .requestHandler(router)
                    .listen();
        }
    }

    /**
     * {@code VALUE_BYTES} (memory.sh; unset or 0: none): {@code /counter} also stores a string of that many
     * characters under {@code payload} when the session has none, a new string for every session.
     */
    private static final int VALUE_BYTES = Integer.parseInt(env("VALUE_BYTES", "0"));

    static void counter(RoutingContext ctx) {
        Session session = ctx.session();
        int counter = number(session.get("counter")) + 1;
        session.put("counter", counter);
        if (VALUE_BYTES > 0 && session.get("payload") == null) {
            session.put("payload", "x".repeat(VALUE_BYTES));
        }
        text(ctx, Integer.toString(counter));
    }

    static void read(RoutingContext ctx) {
        text(ctx, Integer.toString(number(ctx.session().get("counter"))));
    }

    /** {@code GET /metrics} of an {@code ours-*} server: its metrics as JSON, with {@code near_cache_entries}. */
    static void metrics(RoutingContext ctx, SessionMiddleware middleware) {
        ctx.response()
                .putHeader("content-type", "application/json")
                .end(middleware
                        .metrics()
                        .toJson()
                        .put("near_cache_entries", middleware.metrics().nearCacheEntries())
                        .encode());
    }

    private static int number(Object value) {
        return value instanceof Number ? ((Number) value).intValue() : 0;
    }

    /**
     * The response headers of one of ours, without the work: a cookie {@code session_id=}, 16 hex digits that differ
     * for every cookie, then {@code setCookie} (sent on every {@code /counter} when {@code everyCounter}, else when
     * the request has no cookie), and {@code Cache-Control: private}.
     */
    record Floor(String setCookie, boolean everyCounter) {
        static Floor of(String server) {
            String attributes =
                    "; Max-Age=86400; Expires=Wed, 09 Dec 2026 04:14:47 GMT; Path=/; HTTPOnly; SameSite=Lax";
            switch (server) {
                case "floor-signed": // as long as ours-signed's (170 characters: the counter's signed cookie)
                    return new Floor("A".repeat(170 - 16) + attributes, true);
                case "floor-server-side": // as long as a server-side session's ID (43 characters)
                    return new Floor("A".repeat(43 - 16) + attributes, false);
                default:
                    return null;
            }
        }
    }

    /** Makes every floor cookie differ, as ours do (a client that stores the same string again pays less). */
    private static final AtomicLong FLOOR_COOKIES = new AtomicLong();

    private static void floor(RoutingContext ctx, Floor floor, String body, boolean sendCookie) {
        if (sendCookie || ctx.request().getHeader("cookie") == null) {
            String serial = Long.toHexString(0x1000_0000_0000_0000L + FLOOR_COOKIES.incrementAndGet());
            ctx.response().putHeader("set-cookie", "session_id=" + serial + floor.setCookie());
        }
        ctx.response().putHeader("cache-control", "private");
        text(ctx, body);
    }

    private static void text(RoutingContext ctx, String body) {
        ctx.response().putHeader("content-type", "text/plain").end(body);
    }

    private static boolean onClassPath(String className) {
        try {
            Class.forName(className, false, BenchServer.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    private static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isEmpty() ? fallback : value;
    }

    private static void deleteTree(Path directory) {
        try (Stream<Path> files = Files.walk(directory)) {
            files.sorted(Comparator.reverseOrder()).forEach(path -> {
                try {
                    Files.deleteIfExists(path);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            System.err.println("could not delete " + directory + ": " + e);
        }
    }
}
