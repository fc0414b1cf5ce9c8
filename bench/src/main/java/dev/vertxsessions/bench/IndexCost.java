package dev.vertxsessions.bench;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMiddleware;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * What keeping the user index (principal to session IDs) costs per request, on Redis and on files (issue 20). A real
 * HTTP server with the {@link SessionMiddleware} and the JDK's HTTP client on one keep-alive connection, requests one
 * after another, in this process. Run by {@code bench/index-cost.sh}, which starts redis-server; by hand:
 *
 * <pre>
 *   REDIS_URL=redis://127.0.0.1:6379 java -cp bench/target/benchmarks.jar dev.vertxsessions.bench.IndexCost redis
 *   java -cp bench/target/benchmarks.jar dev.vertxsessions.bench.IndexCost file
 * </pre>
 *
 * <p>Routes: {@code /login?user=U} ({@code session.regenerate().setPrincipal(U).put("counter", 0)}), {@code /promote}
 * ({@code regenerate().put("counter", 0)}: a promoted session without principal, so the index is not used), {@code /counter}
 * ({@code put("counter", n + 1)}) and {@code /read} (reads only).
 *
 * <p>Redis: for each workload and round, FLUSHALL, one login (or promote), then {@code N} requests between two
 * snapshots of {@code INFO commandstats} and {@code INFO stats}; the snapshots' own cost (two snapshots taken back to
 * back) is subtracted, so the counts are exact. Then {@code MEMORY USAGE} of a user's index with 1, 10, 100 and 1000
 * sessions. Files: for each workload and round, the directory listed (inode, size, mtime) before and after {@code N}
 * requests, and every create/modify/delete event in it counted with a {@link WatchService} (inotify) during them;
 * then the size of an index file with 1, 10 and 100 sessions.
 *
 * <p>Environment: {@code N} [20000], {@code ROUNDS} [3], {@code WARMUP} [2000], {@code REDIS_URL}. Prints markdown.
 */
public final class IndexCost {

    private static final int N = Integer.parseInt(env("N", "20000"));
    private static final int ROUNDS = Integer.parseInt(env("ROUNDS", "3"));
    private static final int WARMUP = Integer.parseInt(env("WARMUP", "2000"));

    /** The Redis commands reported, in this order; any other command seen is added after them. */
    private static final List<String> COMMANDS = List.of(
            "evalsha",
            "eval",
            "hgetall",
            "time",
            "exists",
            "hget",
            "hset",
            "hsetnx",
            "hdel",
            "pexpire",
            "zremrangebyscore",
            "zscore",
            "zcard",
            "zrem",
            "zadd",
            "pttl",
            "rename",
            "del");

    private final Vertx vertx;
    private final java.net.http.HttpClient client;
    private int port;
    private String cookie;

    private IndexCost(Vertx vertx) {
        this.vertx = vertx;
        // The JDK's client, one keep-alive connection (requests are sent one after another).
        this.client = java.net.http.HttpClient.newBuilder()
                .version(java.net.http.HttpClient.Version.HTTP_1_1)
                .build();
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1 || !(args[0].equals("redis") || args[0].equals("file"))) {
            System.err.println("usage: java -cp benchmarks.jar " + IndexCost.class.getName() + " redis|file");
            System.exit(2);
        }
        Vertx vertx = Vertx.vertx();
        IndexCost bench = new IndexCost(vertx);
        try {
            if (args[0].equals("redis")) {
                bench.redis(env("REDIS_URL", "redis://127.0.0.1:6379"));
            } else {
                bench.files();
            }
        } finally {
            await(vertx.close());
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The server and the client

    private HttpServer start(SessionMiddleware middleware) throws Exception {
        await(middleware.ready());
        Router router = Router.router(vertx);
        router.route().handler(middleware);
        router.get("/login").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            // An own key too: a session holding only reserved keys (principal, promoted) counts as empty and is
            // not stored (SaveDecision), so a login that only sets the principal would store nothing.
            session.regenerate().setPrincipal(ctx.request().getParam("user")).put("counter", 0);
            session.commit().onComplete(ar -> ctx.response().end(ar.succeeded() ? "ok" : "failed"));
        });
        router.get("/promote").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            session.regenerate().put("counter", 0);
            session.commit().onComplete(ar -> ctx.response().end(ar.succeeded() ? "ok" : "failed"));
        });
        router.get("/counter").handler(BenchServer::counter);
        router.get("/read").handler(BenchServer::read);
        HttpServer server = await(vertx.createHttpServer(
                        new HttpServerOptions().setHost("127.0.0.1").setPort(0))
                .requestHandler(router)
                .listen());
        port = server.actualPort();
        return server;
    }

    /** Sends one GET with the current cookie, keeps the cookie the server sets, returns the body. */
    private String get(String path) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(30));
        if (cookie != null) {
            request.header("Cookie", cookie);
        }
        HttpResponse<String> response = client.send(request.build(), HttpResponse.BodyHandlers.ofString());
        for (String header : response.headers().allValues("set-cookie")) {
            String pair = header.split(";", 2)[0];
            if (pair.startsWith("session_id=")) {
                cookie = pair.endsWith("=") ? null : pair;
            }
        }
        if (response.statusCode() != 200) {
            throw new IllegalStateException(path + " answered " + response.statusCode() + ": " + response.body());
        }
        return response.body();
    }

    /** A new visitor: logs in as {@code user} (null: promotes without principal) and writes the counter once. */
    private void newSession(String user) throws Exception {
        cookie = null;
        get(user == null ? "/promote" : "/login?user=" + user);
        get("/counter");
    }

    private void requests(String path, int count) throws Exception {
        for (int i = 0; i < count; i++) {
            get(path);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Redis

    private void redis(String url) throws Exception {
        Redis redis = Redis.createClient(vertx, url);
        SessionMiddleware middleware = SessionMiddleware.create(
                vertx, new SessionConfig().setManager("redis").setBackendOption("redis_url", url));
        HttpServer server = start(middleware);
        String version = info(redis, "server").get("redis_version");
        System.out.printf(
                "Redis %s, N = %d requests per workload and round, %d rounds, %d warm-up requests%n%n",
                version, N, ROUNDS, WARMUP);

        newSession("warmup");
        requests("/counter", WARMUP);
        requests("/read", WARMUP);

        String[][] workloads = {
            {"counter, logged in (principal, index used)", "alice", "/counter"},
            {"counter, promoted without principal (index unused)", null, "/counter"},
            {"read-only, logged in", "alice", "/read"},
            {"read-only, promoted without principal", null, "/read"},
        };
        // workload -> round -> stat -> per-request value
        List<List<Map<String, Double>>> results = new ArrayList<>();
        for (int w = 0; w < workloads.length; w++) {
            results.add(new ArrayList<>());
        }
        for (int round = 1; round <= ROUNDS; round++) {
            for (int i = 0; i < workloads.length; i++) {
                int w = (i + round - 1) % workloads.length; // rotate the order between rounds
                await(redis.send(Request.cmd(Command.FLUSHALL)));
                newSession(workloads[w][1]);
                Map<String, Double> a = snapshot(redis);
                Map<String, Double> b = snapshot(redis);
                requests(workloads[w][2], N);
                Thread.sleep(200);
                Map<String, Double> c = snapshot(redis);
                results.get(w).add(perRequest(a, b, c, N));
                System.err.printf("round %d: %s done%n", round, workloads[w][0]);
            }
        }
        TreeSet<String> seen = new TreeSet<>();
        results.forEach(rounds -> rounds.forEach(
                r -> r.keySet().stream().filter(k -> k.startsWith("calls:")).forEach(k -> seen.add(k.substring(6)))));
        List<String> commands = new ArrayList<>();
        for (String command : COMMANDS) {
            if (seen.remove(command)) {
                commands.add(command);
            }
        }
        seen.remove("info");
        seen.remove("flushall");
        commands.addAll(seen);

        System.out.println("### Redis: commands per request (commandstats calls / N; commands called by scripts are "
                + "counted too), median of the rounds, every round identical unless shown");
        System.out.println();
        StringBuilder head = new StringBuilder("| workload | round trips (evalsha+eval+hgetall) ");
        StringBuilder rule = new StringBuilder("|---|---:");
        for (String command : commands) {
            head.append("| ").append(command).append(' ');
            rule.append("|---:");
        }
        System.out.println(head.append('|'));
        System.out.println(rule.append('|'));
        for (int w = 0; w < workloads.length; w++) {
            StringBuilder row = new StringBuilder("| " + workloads[w][0] + " | ");
            row.append(cell(
                    results.get(w),
                    r -> r.getOrDefault("calls:evalsha", 0.0)
                            + r.getOrDefault("calls:eval", 0.0)
                            + r.getOrDefault("calls:hgetall", 0.0),
                    "%.4f"));
            for (String command : commands) {
                row.append(" | ").append(cell(results.get(w), r -> r.getOrDefault("calls:" + command, 0.0), "%.4f"));
            }
            System.out.println(row.append(" |"));
        }
        System.out.println();
        System.out.println(
                "(`time` counts the TIME calls of the scripts (two per SAVE: the deadline guard, and SAVE's "
                        + "clock for the index) and the store's own TIME, sent once every 30 s: only that one is a round trip.)");
        System.out.println();

        System.out.println("### Redis: work and bytes per request, every round (median last)");
        System.out.println();
        System.out.println(
                "| workload | evalsha µs/call (Redis, whole script) | Redis µs/request (all commands but INFO) "
                        + "| bytes to Redis / request | bytes from Redis / request |");
        System.out.println("|---|---|---|---|---|");
        for (int w = 0; w < workloads.length; w++) {
            List<Map<String, Double>> r = results.get(w);
            System.out.printf(
                    "| %s | %s | %s | %s | %s |%n",
                    workloads[w][0],
                    rounds(r, m -> m.getOrDefault("usec_per_call:evalsha", Double.NaN), "%.2f"),
                    rounds(r, m -> m.getOrDefault("usec_total", Double.NaN), "%.2f"),
                    rounds(r, m -> m.get("in"), "%.2f"),
                    rounds(r, m -> m.get("out"), "%.2f"));
        }
        System.out.println();

        redisMemory(redis);
        await(server.close());
        await(middleware.close());
        redis.close();
    }

    /** Logs in as one user 1, 10, 100, 1000 times; MEMORY USAGE of the index and commands per login. */
    private void redisMemory(Redis redis) throws Exception {
        await(redis.send(Request.cmd(Command.FLUSHALL)));
        newSession(null);
        String promotedKey = onlyKey(redis, "session:*");
        long promoted = memoryUsage(redis, promotedKey);
        await(redis.send(Request.cmd(Command.FLUSHALL)));
        System.out.println("### Redis: memory of a user's index (`MEMORY USAGE <key> SAMPLES 0`)");
        System.out.println();
        System.out.println("| sessions of the user | index key bytes | encoding | bytes per indexed session "
                + "(vs 1 session) | commands per login (evalsha; zadd, pttl, pexpire, zremrangebyscore) |");
        System.out.println("|---:|---:|---|---:|---|");
        int done = 0;
        long one = 0;
        String indexKey = "session:user:alice";
        for (int target : new int[] {1, 10, 100, 1000}) {
            Map<String, Double> a = snapshot(redis);
            Map<String, Double> b = snapshot(redis);
            int logins = target - done;
            for (; done < target; done++) {
                cookie = null;
                get("/login?user=alice");
            }
            Map<String, Double> c = snapshot(redis);
            Map<String, Double> per = perRequest(a, b, c, logins);
            long usage = memoryUsage(redis, indexKey);
            String encoding = await(redis.send(
                            Request.cmd(Command.OBJECT).arg("ENCODING").arg(indexKey)))
                    .toString();
            if (target == 1) {
                one = usage;
            }
            System.out.printf(
                    "| %d | %d | %s | %s | %.2f; %.2f, %.2f, %.2f, %.2f |%n",
                    target,
                    usage,
                    encoding,
                    target == 1
                            ? "(%d for the first)".formatted(usage)
                            : String.format(Locale.ROOT, "%.1f", (usage - one) / (double) (target - 1)),
                    per.getOrDefault("calls:evalsha", 0.0),
                    per.getOrDefault("calls:zadd", 0.0),
                    per.getOrDefault("calls:pttl", 0.0),
                    per.getOrDefault("calls:pexpire", 0.0),
                    per.getOrDefault("calls:zremrangebyscore", 0.0));
        }
        // The session hash of one of alice's sessions, with its principal field, vs a promoted one without.
        get("/counter");
        String loggedInKey = "session:" + cookie.substring("session_id=".length());
        System.out.println();
        System.out.printf(
                "A session hash (counter only) without principal: %d bytes; with the principal \"alice\": "
                        + "%d bytes (`MEMORY USAGE`).%n%n",
                promoted, memoryUsage(redis, loggedInKey));
    }

    private static String onlyKey(Redis redis, String pattern) throws Exception {
        Response keys = await(redis.send(Request.cmd(Command.KEYS).arg(pattern)));
        if (keys.size() != 1) {
            throw new IllegalStateException("expected one key " + pattern + ", got " + keys);
        }
        return keys.get(0).toString();
    }

    private static long memoryUsage(Redis redis, String key) throws Exception {
        Response usage = await(redis.send(
                Request.cmd(Command.MEMORY).arg("USAGE").arg(key).arg("SAMPLES").arg(0)));
        if (usage == null) {
            throw new IllegalStateException("no key " + key);
        }
        return usage.toLong();
    }

    /** {@code calls:<cmd>}, {@code usec:<cmd>}, {@code in}, {@code out} of one moment. */
    private static Map<String, Double> snapshot(Redis redis) throws Exception {
        Map<String, Double> out = new TreeMap<>();
        info(redis, "commandstats").forEach((name, value) -> {
            // cmdstat_evalsha:calls=1,usec=2,usec_per_call=2.00,rejected_calls=0,failed_calls=0
            String command = name.substring("cmdstat_".length());
            for (String pair : value.split(",")) {
                String[] kv = pair.split("=", 2);
                if (kv[0].equals("calls") || kv[0].equals("usec")) {
                    out.put(kv[0] + ":" + command, Double.parseDouble(kv[1]));
                }
            }
        });
        Map<String, String> stats = info(redis, "stats");
        out.put("in", Double.parseDouble(stats.get("total_net_input_bytes")));
        out.put("out", Double.parseDouble(stats.get("total_net_output_bytes")));
        return out;
    }

    /** (c - b) - (b - a), divided by n: the requests' share, without what taking a snapshot costs. */
    private static Map<String, Double> perRequest(
            Map<String, Double> a, Map<String, Double> b, Map<String, Double> c, int n) {
        Map<String, Double> out = new TreeMap<>();
        TreeSet<String> keys = new TreeSet<>(c.keySet());
        for (String key : keys) {
            double delta =
                    (c.get(key) - b.getOrDefault(key, 0.0)) - (b.getOrDefault(key, 0.0) - a.getOrDefault(key, 0.0));
            if (key.startsWith("usec:") || key.startsWith("calls:info")) {
                delta = c.get(key) - b.getOrDefault(key, 0.0); // no snapshot subtraction for times
            }
            if (delta != 0 && !key.equals("calls:info") && !key.equals("usec:info")) {
                out.put(key, delta / n);
            }
        }
        // Per call: the evalsha time of these requests only.
        double calls = c.getOrDefault("calls:evalsha", 0.0) - b.getOrDefault("calls:evalsha", 0.0);
        double usec = c.getOrDefault("usec:evalsha", 0.0) - b.getOrDefault("usec:evalsha", 0.0);
        if (calls > 0) {
            out.put("usec_per_call:evalsha", usec / calls);
        }
        // Redis time of the requests: every command but INFO; commands inside a script are part of its time, so
        // only top-level commands (evalsha, eval, hgetall, and TIME outside scripts) are added.
        double total = 0;
        for (String command : List.of("evalsha", "eval", "hgetall")) {
            total += c.getOrDefault("usec:" + command, 0.0) - b.getOrDefault("usec:" + command, 0.0);
        }
        out.put("usec_total", total / n);
        return out;
    }

    private static Map<String, String> info(Redis redis, String section) throws Exception {
        Response info = await(redis.send(Request.cmd(Command.INFO).arg(section)));
        Map<String, String> out = new TreeMap<>();
        for (String line : info.toString().split("\r?\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && !line.startsWith("#")) {
                out.put(line.substring(0, colon), line.substring(colon + 1).trim());
            }
        }
        return out;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Files

    private void files() throws Exception {
        Path directory = Files.createTempDirectory("vertx-sessions-index-cost-");
        SessionMiddleware middleware = SessionMiddleware.create(
                vertx, new SessionConfig().setManager("file").setBackendOption("directory", directory.toString()));
        HttpServer server = start(middleware);
        System.out.printf("Files in %s, N = %d requests per workload and round, %d rounds%n%n", directory, N, ROUNDS);
        newSession("warmup");
        requests("/counter", WARMUP);
        requests("/read", WARMUP);

        String[][] workloads = {
            {"counter, logged in (principal, index used)", "alice", "/counter"},
            {"counter, promoted without principal", null, "/counter"},
            {"read-only, logged in", "alice", "/read"},
        };
        System.out.println("### Files: what N requests change in the directory, every round");
        System.out.println();
        System.out.println("| workload | round | session file: modify events, inode kept, mtime changed "
                + "| index file: events, inode kept, mtime kept, size kept | other files: created / deleted / changed "
                + "(events) | inotify overflows |");
        System.out.println("|---|---:|---|---|---|---:|");
        int user = 0;
        for (int round = 1; round <= ROUNDS; round++) {
            for (String[] workload : workloads) {
                String principal = workload[1] == null ? null : workload[1] + (++user);
                Map<String, FileState> before0 = listing(directory);
                newSession(principal);
                Map<String, FileState> afterLogin = listing(directory);
                String sessionFile = "session_" + cookie.substring("session_id=".length());
                String indexFile = null;
                for (String name : afterLogin.keySet()) {
                    if (name.startsWith(".vertx-sessions.user-") && !before0.containsKey(name)) {
                        indexFile = name;
                    }
                }
                if (principal != null && indexFile == null) {
                    throw new IllegalStateException("no index file appeared for " + principal);
                }
                Thread.sleep(20); // so that an unchanged mtime cannot be an accident of the clock's resolution
                Map<String, FileState> before = listing(directory);
                Map<String, AtomicLong> events = new ConcurrentHashMap<>();
                try (Watcher watcher = new Watcher(directory, events)) {
                    requests(workload[2], N);
                    Thread.sleep(300);
                }
                Map<String, FileState> after = listing(directory);
                FileState s0 = before.get(sessionFile);
                FileState s1 = after.get(sessionFile);
                String sessionCell = "%d, %s, %s"
                        .formatted(
                                events.getOrDefault("MODIFY " + sessionFile, new AtomicLong())
                                        .get(),
                                yes(s0.inode == s1.inode),
                                s0.mtime.equals(s1.mtime) ? "no" : "yes");
                String indexCell = "n/a (no principal)";
                if (indexFile != null) {
                    FileState i0 = before.get(indexFile);
                    FileState i1 = after.get(indexFile);
                    long indexEvents = 0;
                    for (Map.Entry<String, AtomicLong> e : events.entrySet()) {
                        if (e.getKey().endsWith(" " + indexFile)) {
                            indexEvents += e.getValue().get();
                        }
                    }
                    indexCell = "%d, %s, %s, %s"
                            .formatted(
                                    indexEvents,
                                    yes(i1 != null && i0.inode == i1.inode),
                                    yes(i1 != null && i0.mtime.equals(i1.mtime)),
                                    yes(i1 != null && i0.size == i1.size));
                }
                int created = 0;
                int deleted = 0;
                int changed = 0;
                for (String name : after.keySet()) {
                    if (name.equals(sessionFile) || name.equals(indexFile)) {
                        continue;
                    }
                    FileState b = before.get(name);
                    if (b == null) {
                        created++;
                    } else if (!b.equals(after.get(name))) {
                        changed++;
                    }
                }
                for (String name : before.keySet()) {
                    if (!after.containsKey(name)) {
                        deleted++;
                    }
                }
                long otherEvents = 0;
                for (Map.Entry<String, AtomicLong> e : events.entrySet()) {
                    String name = e.getKey().substring(e.getKey().indexOf(' ') + 1);
                    if (!name.equals(sessionFile)
                            && !name.equals(indexFile)
                            && !e.getKey().startsWith("OVERFLOW")) {
                        otherEvents += e.getValue().get();
                    }
                }
                System.out.printf(
                        "| %s | %d | %s | %s | %d / %d / %d (%d) | %d |%n",
                        workload[0],
                        round,
                        sessionCell,
                        indexCell,
                        created,
                        deleted,
                        changed,
                        otherEvents,
                        events.getOrDefault("OVERFLOW ", new AtomicLong()).get());
            }
        }
        System.out.println();

        System.out.println("### Files: size of an index file");
        System.out.println();
        System.out.println("| sessions of the user | index file bytes | bytes per indexed session (vs 1 session) "
                + "| index file replacements per login (inotify: renames onto the index file) |");
        System.out.println("|---:|---:|---:|---|");
        int done = 0;
        long one = 0;
        String indexFile = null;
        for (int target : new int[] {1, 10, 100}) {
            Map<String, AtomicLong> events = new ConcurrentHashMap<>();
            Map<String, FileState> before = listing(directory);
            int logins = target - done;
            try (Watcher watcher = new Watcher(directory, events)) {
                for (; done < target; done++) {
                    cookie = null;
                    get("/login?user=bob");
                }
                Thread.sleep(300);
            }
            if (indexFile == null) {
                for (String name : listing(directory).keySet()) {
                    if (name.startsWith(".vertx-sessions.user-") && !before.containsKey(name)) {
                        indexFile = name;
                    }
                }
            }
            long size = Files.size(directory.resolve(indexFile));
            if (target == 1) {
                one = size;
            }
            long renames =
                    events.getOrDefault("CREATE " + indexFile, new AtomicLong()).get();
            System.out.printf(
                    "| %d | %d | %s | %.2f |%n",
                    target,
                    size,
                    target == 1
                            ? "(%d for the first)".formatted(size)
                            : String.format(Locale.ROOT, "%.1f", (size - one) / (double) (target - 1)),
                    renames / (double) logins);
        }
        System.out.println();
        System.out.println("Index file content with 1 session is `{\"<43-char id>\": <expiry ms>}` (JSON).");
        await(server.close());
        await(middleware.close());
        try (Stream<Path> walk = Files.walk(directory)) {
            walk.sorted(Collections.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static String yes(boolean value) {
        return value ? "yes" : "**no**";
    }

    private record FileState(long inode, long size, FileTime mtime) {}

    private static Map<String, FileState> listing(Path directory) throws IOException {
        Map<String, FileState> out = new TreeMap<>();
        try (Stream<Path> list = Files.list(directory)) {
            for (Path path : (Iterable<Path>) list::iterator) {
                try {
                    Map<String, Object> attrs = Files.readAttributes(path, "unix:ino,size,lastModifiedTime");
                    out.put(
                            path.getFileName().toString(),
                            new FileState(
                                    ((Number) attrs.get("ino")).longValue(),
                                    ((Number) attrs.get("size")).longValue(),
                                    (FileTime) attrs.get("lastModifiedTime")));
                } catch (IOException e) {
                    // a temporary file renamed away meanwhile
                }
            }
        }
        return out;
    }

    /** Counts inotify events in a directory by "KIND name" until closed; "OVERFLOW " counts lost events. */
    private static final class Watcher implements AutoCloseable {
        private final WatchService service;
        private final Thread thread;
        private final AtomicLong last = new AtomicLong(System.nanoTime());

        Watcher(Path directory, Map<String, AtomicLong> events) throws IOException {
            service = FileSystems.getDefault().newWatchService();
            directory.register(
                    service,
                    StandardWatchEventKinds.ENTRY_CREATE,
                    StandardWatchEventKinds.ENTRY_MODIFY,
                    StandardWatchEventKinds.ENTRY_DELETE);
            thread = new Thread(() -> {
                try {
                    while (true) {
                        WatchKey key = service.take();
                        for (WatchEvent<?> event : key.pollEvents()) {
                            String kind = event.kind() == StandardWatchEventKinds.OVERFLOW
                                    ? "OVERFLOW"
                                    : event.kind().name().substring("ENTRY_".length());
                            String name = event.context() == null
                                    ? ""
                                    : event.context().toString();
                            if (name.startsWith(".tmp-")) {
                                name = ".tmp-*";
                            }
                            events.computeIfAbsent(kind + " " + name, k -> new AtomicLong())
                                    .addAndGet(event.count());
                            last.set(System.nanoTime());
                        }
                        key.reset();
                    }
                } catch (InterruptedException | ClosedWatchServiceException e) {
                    // closed
                }
            });
            thread.setDaemon(true);
            thread.start();
        }

        /** Waits until no event came for a second (saves may complete after their response), at most 60 s. */
        @Override
        public void close() throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            do {
                Thread.sleep(200);
            } while (System.nanoTime() - last.get() < TimeUnit.SECONDS.toNanos(1) && System.nanoTime() < deadline);
            service.close();
            thread.join(TimeUnit.SECONDS.toMillis(5));
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Helpers

    private interface Stat {
        Double of(Map<String, Double> round);
    }

    /** The median of the rounds, or every round when they differ. */
    private static String cell(List<Map<String, Double>> rounds, Stat stat, String format) {
        List<String> values = new ArrayList<>();
        for (Map<String, Double> round : rounds) {
            values.add(String.format(Locale.ROOT, format, stat.of(round)));
        }
        if (new TreeSet<>(values).size() == 1) {
            return values.get(0);
        }
        return median(rounds, stat, format) + " (" + String.join(", ", values) + ")";
    }

    /** Every round, then the median: "a, b, c → m". */
    private static String rounds(List<Map<String, Double>> rounds, Stat stat, String format) {
        List<String> values = new ArrayList<>();
        for (Map<String, Double> round : rounds) {
            values.add(String.format(Locale.ROOT, format, stat.of(round)));
        }
        return String.join(", ", values) + " → **" + median(rounds, stat, format) + "**";
    }

    private static String median(List<Map<String, Double>> rounds, Stat stat, String format) {
        List<Double> values = new ArrayList<>();
        for (Map<String, Double> round : rounds) {
            values.add(stat.of(round));
        }
        Collections.sort(values);
        int n = values.size();
        double median = n % 2 == 1 ? values.get(n / 2) : (values.get(n / 2 - 1) + values.get(n / 2)) / 2;
        return String.format(Locale.ROOT, format, median);
    }

    private static <T> T await(Future<T> future) throws Exception {
        return future.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    private static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isEmpty() ? fallback : value;
    }
}
