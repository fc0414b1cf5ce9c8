package dev.vertxsessions.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.SessionStoreUnavailableException;
import dev.vertxsessions.TestServer;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What a Redis failure may and may not do to sessions, against real deployments of redis-server on loopback that
 * the test starts on free ports: a plain server, a master with a replica, Sentinel (one master, one replica, three
 * sentinels) and Cluster (three masters, three replicas). A master "fails" the way that loses writes in
 * production: it is paused (SIGSTOP) with connections open, replaced, then resumed (SIGCONT) with whatever its
 * clients had sent it still in its socket buffers.
 *
 * <p>What must hold: a call that timed out never applies later; a session written before a failover is read after
 * it; during a failover requests answer 503 within redis_timeout_ms (never 500, never later) and come back by
 * themselves; in durability mode no write that got a 200 is lost. Skipped when {@code redis-server} is not on the
 * PATH. Sentinel and Cluster each get one deployment and one failover, during which every check runs: a failover
 * takes seconds, and Sentinel takes 8 s more to make the old master a replica again.
 *
 * <p>The durable check has teeth: with WAIT off for the servers whose timeout outlasts the pause, it loses the
 * two writes that the paused master acknowledged when it resumed, on Sentinel and on Cluster alike.
 */
@Tag("slow") // excluded by the fast set: mvn -B test -DexcludedGroups=slow
@ExtendWith(VertxExtension.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class RedisFailoverTest {

    private static final String COOKIE = "session_id";
    private static final String PREFIX = "session:";
    private static final String MASTER_NAME = "sessions";
    /**
     * How far past its Redis calls' redis_timeout_ms a request may take on a busy two-core machine and still count as
     * on time. A writer's request is two calls (load, save) and THINK_MILLIS: with SHORT_TIMEOUT that is at most 4.7 s,
     * less than PAUSE_MILLIS, so a request that waited for the paused master to resume still fails the check.
     */
    private static final long SLACK_MILLIS = 2500;
    /** How long a master stays paused: the failover happens meanwhile. */
    private static final long PAUSE_MILLIS = 6000;
    /** A redis_timeout_ms longer than the pause: a write the paused master holds is answered when it resumes. */
    private static final Duration OUTLASTS_PAUSE = Duration.ofMillis(9000);

    private static final Duration SHORT_TIMEOUT = Duration.ofMillis(1000);
    /** What a writer's request does between loading its session and committing the new key. */
    private static final long THINK_MILLIS = 200;

    private static final WaitForReplicas ONE_REPLICA = new WaitForReplicas(1, Duration.ofMillis(400));

    // ------------------------------------------------------------------ one server, one replica: no failover

    @Test
    void timedOutWrites_pipelinedOnOneConnection_neverApplyLater(Vertx vertx, VertxTestContext test) throws Exception {
        try (RedisServerProcess redis = RedisServerProcess.start()) {
            SessionConfig config = new SessionConfig()
                    .setManager("redis")
                    .setBackendOption("redis_url", redis.url())
                    .setBackendOption("redis_timeout_ms", 500);
            TestServer server = TestServer.start(vertx, config, routes(new AtomicInteger()));
            String id = cookie(get(server, "/write?k=a&v=1", null)); // opens the event loop's connection
            try (RedisServerProcess.Monitor monitor = redis.monitor()) {
                redis.pause();
                try {
                    // Two new sessions: both saves are pipelined on the event loop's connection to the paused
                    // server. The first times out and closes it; the second fails at its own deadline.
                    Future<Timed> first = timed(server, "/write?k=late&v=1", null);
                    Future<Timed> second = timed(server, "/write?k=later&v=1", null);
                    assertAnsweredWithin(503, 500, first.await());
                    assertAnsweredWithin(503, 500, second.await());
                } finally {
                    redis.resume();
                }
                assertEquals(200, untilStatus(server, 200, "/write?k=b&v=2", id).statusCode());
                List<String> writes = monitor.drain().stream()
                        .filter(line -> line.startsWith("\"evalsha\"") || line.startsWith("\"eval\""))
                        .filter(line -> !line.contains(PREFIX + id))
                        .collect(Collectors.toList());
                assertEquals(
                        2, writes.size(), "Redis read both saves from the closed socket when it resumed: " + writes);
            }
            assertEquals(
                    List.of(PREFIX + id),
                    redis.command("KEYS", PREFIX + "*"),
                    "the saves Redis read after their deadline wrote nothing");
        }
        test.completeNow();
    }

    @Test
    void durableWrite_waitsForTheReplica_and503sWithinTheWaitTimeoutWithoutIt(Vertx vertx, VertxTestContext test)
            throws Exception {
        try (RedisServerProcess master = RedisServerProcess.start();
                RedisServerProcess replica = RedisServerProcess.startReplicaOf(master)) {
            awaitUntil("the replica is in sync", () -> isSyncedReplica(replica));
            // The replica's side of the link comes up before the master counts it for WAIT.
            awaitUntil(
                    "the master counts the replica",
                    () -> String.valueOf(master.command("INFO", "replication")).contains("state=online"));
            SessionConfig config = new SessionConfig()
                    .setManager("redis")
                    .setBackendOption("redis_wait_replicas", ONE_REPLICA.replicas())
                    .setBackendOption(
                            "redis_wait_timeout_ms", ONE_REPLICA.timeout().toMillis())
                    .setBackendOption("redis_url", master.url())
                    .setBackendOption("redis_timeout_ms", SHORT_TIMEOUT.toMillis());
            TestServer server = TestServer.start(vertx, config, routes(new AtomicInteger()));
            // The first write may find the new replica still settling (0 acknowledgements within the wait): a 503,
            // which is the promise too; once a write is acknowledged, it is on the replica.
            String id = cookie(untilStatus(server, 200, "/write?k=a&v=1", null));
            assertEquals("\"1\"", replica.command("HGET", PREFIX + id, "k:a"), "acknowledged means on the replica");

            replica.pause();
            try {
                Timed unreplicated = timed(server, "/write?k=b&v=2", id).await();
                assertAnsweredWithin(503, ONE_REPLICA.timeout().toMillis(), unreplicated);
                assertEquals("1", get(server, "/get?k=a", id).bodyAsString(), "reads do not wait for replicas");
            } finally {
                replica.resume();
            }
            assertEquals(200, untilStatus(server, 200, "/write?k=c&v=3", id).statusCode());
            assertEquals("\"3\"", replica.command("HGET", PREFIX + id, "k:c"));
        }
        test.completeNow();
    }

    // ------------------------------------------------------------------ Sentinel and Cluster

    /**
     * One master, one replica, three sentinels (quorum 2) that find a master down after one second. Sentinel turns
     * a returning old master into a replica only after it has been back for 8 s (fixed in Redis), so durable writes,
     * which need a replica, come back that long after the old master does.
     */
    @Nested
    @TestInstance(TestInstance.Lifecycle.PER_CLASS)
    class Sentinel implements Deployment {

        private final List<RedisServerProcess> nodes = new ArrayList<>();
        private final List<RedisServerProcess> sentinels = new ArrayList<>();

        @BeforeAll
        void deploy() throws Exception {
            RedisServerProcess master = RedisServerProcess.start();
            nodes.add(master);
            nodes.add(RedisServerProcess.startReplicaOf(master));
            for (int i = 0; i < 3; i++) {
                sentinels.add(RedisServerProcess.startSentinel(master, MASTER_NAME, 2, 1000, 2000));
            }
        }

        @AfterAll
        void tearDown() {
            try {
                // What the sentinels did, for the output file of a slow or failed run. "+tilt": the machine was so busy
                // that a sentinel was not scheduled for 2 s, and it stops acting for 30 s.
                for (RedisServerProcess sentinel : sentinels) {
                    sentinel.logLines(" +").forEach(line -> step("sentinel " + sentinel.port + ": " + line));
                }
            } catch (IOException e) {
                step("could not read a sentinel's log: " + e);
            } finally {
                closeAll(sentinels);
                closeAll(nodes);
            }
        }

        @Test
        void masterPausedThenReplaced_sessionsSurvive_requestsAnswer503ThenRecover_noAcknowledgedDurableWriteLost(
                Vertx vertx, VertxTestContext test) throws Exception {
            masterPausedThenReplaced(vertx, this);
            test.completeNow();
        }

        @Override
        public SessionConfig config(Duration timeout) {
            JsonArray endpoints = new JsonArray();
            sentinels.forEach(sentinel -> endpoints.add(sentinel.url()));
            return new SessionConfig()
                    .setManager("redis")
                    .setBackendOption("redis_timeout_ms", timeout.toMillis())
                    .setBackendOption(
                            "redis_options",
                            new JsonObject()
                                    .put("type", "SENTINEL")
                                    .put("endpoints", endpoints)
                                    .put("masterName", MASTER_NAME)
                                    .put("role", "MASTER"));
        }

        @Override
        public RedisServerProcess masterOf(String id) throws IOException {
            List<?> address = (List<?>) sentinels.get(0).command("SENTINEL", "get-master-addr-by-name", MASTER_NAME);
            return node(nodes, Integer.parseInt((String) address.get(1)));
        }

        @Override
        public RedisServerProcess replicaOf(RedisServerProcess master) {
            return nodes.get(nodes.get(0) == master ? 1 : 0);
        }

        @Override
        public boolean isPromoted(RedisServerProcess replica) throws IOException {
            // The client asks the first sentinel for the master.
            return masterOf(null) == replica;
        }

        /**
         * Waits until every sentinel names the same master, knows the other two sentinels and sees the replica up, and
         * the replica is in sync: a state from which a failover can start.
         */
        @Override
        public void awaitHealthy() {
            awaitUntil("the Sentinel deployment is healthy", () -> {
                RedisServerProcess master = masterOf(null);
                RedisServerProcess replica = replicaOf(master);
                if (!isSyncedReplica(replica)) {
                    return false;
                }
                for (RedisServerProcess sentinel : sentinels) {
                    Map<String, String> state = fields((List<?>) sentinel.command("SENTINEL", "master", MASTER_NAME));
                    if (Integer.parseInt(state.get("port")) != master.port
                            || !state.get("flags").equals("master")
                            || !state.get("num-other-sentinels").equals("2")) {
                        return false;
                    }
                    List<?> replicas = (List<?>) sentinel.command("SENTINEL", "replicas", MASTER_NAME);
                    boolean replicaUp = replicas.stream()
                            .map(r -> fields((List<?>) r))
                            .anyMatch(r -> Integer.parseInt(r.get("port")) == replica.port
                                    && r.get("flags").equals("slave")
                                    && "ok".equals(r.get("master-link-status")));
                    if (!replicaUp) {
                        return false;
                    }
                }
                return true;
            });
        }
    }

    /** Three masters and three replicas; a replica takes over a master that did not answer for one second. */
    @Nested
    @TestInstance(TestInstance.Lifecycle.PER_CLASS)
    class Cluster implements Deployment {

        private final List<RedisServerProcess> nodes = new ArrayList<>();

        @BeforeAll
        void deploy() throws Exception {
            assumeTrue(
                    RedisServerProcess.onPath("redis-cli"),
                    "redis-cli is not on the PATH: install it (it comes with "
                            + "redis-server, e.g. apt-get install redis-server) to run the Redis Cluster test");
            for (int i = 0; i < 6; i++) {
                nodes.add(RedisServerProcess.startClusterNode(1000));
            }
            List<String> create = new ArrayList<>(List.of("redis-cli", "--cluster", "create"));
            nodes.forEach(node -> create.add("127.0.0.1:" + node.port));
            create.addAll(List.of("--cluster-replicas", "1", "--cluster-yes"));
            Process process =
                    new ProcessBuilder(create).redirectErrorStream(true).start();
            String output =
                    new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertEquals(0, process.waitFor(), output);
            step("created the cluster");
        }

        @AfterAll
        void tearDown() {
            closeAll(nodes);
        }

        @Test
        void masterPausedThenReplaced_sessionsSurvive_requestsAnswer503ThenRecover_noAcknowledgedDurableWriteLost(
                Vertx vertx, VertxTestContext test) throws Exception {
            masterPausedThenReplaced(vertx, this);
            test.completeNow();
        }

        @Override
        public SessionConfig config(Duration timeout) {
            JsonArray endpoints = new JsonArray();
            nodes.forEach(node -> endpoints.add(node.url()));
            return new SessionConfig()
                    .setManager("redis")
                    .setBackendOption("redis_timeout_ms", timeout.toMillis())
                    .setBackendOption(
                            "redis_options",
                            new JsonObject().put("type", "CLUSTER").put("endpoints", endpoints));
        }

        /** Returns the master that serves the session's hash slot, as a running master sees the cluster. */
        @Override
        public RedisServerProcess masterOf(String id) throws IOException {
            RedisServerProcess asked =
                    nodes.stream().filter(Cluster::isMaster).findFirst().orElseThrow();
            long slot = (Long) asked.command("CLUSTER", "KEYSLOT", PREFIX + id);
            for (Object range : (List<?>) asked.command("CLUSTER", "SLOTS")) {
                List<?> fields = (List<?>) range;
                if ((Long) fields.get(0) <= slot && slot <= (Long) fields.get(1)) {
                    return node(nodes, ((Long) ((List<?>) fields.get(2)).get(1)).intValue());
                }
            }
            throw new IllegalStateException("no master serves slot " + slot);
        }

        @Override
        public RedisServerProcess replicaOf(RedisServerProcess master) throws IOException {
            List<?> replicas = (List<?>) ((List<?>) master.command("ROLE")).get(2);
            RedisServerProcess replica = node(nodes, Integer.parseInt((String) ((List<?>) replicas.get(0)).get(1)));
            replica.command("READONLY"); // a Cluster replica answers reads of its master's keys only after READONLY
            return replica;
        }

        @Override
        public boolean isPromoted(RedisServerProcess replica) {
            return isMaster(replica);
        }

        private static boolean isMaster(RedisServerProcess node) {
            try {
                return "master".equals(((List<?>) node.command("ROLE")).get(0));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        /** Waits until every node sees the cluster ok and each of the three masters has a replica in sync. */
        @Override
        public void awaitHealthy() {
            awaitUntil("the Cluster deployment is healthy", () -> {
                int masters = 0;
                for (RedisServerProcess node : nodes) {
                    String info = (String) node.command("CLUSTER", "INFO");
                    if (!info.contains("cluster_state:ok") || !info.contains("cluster_known_nodes:6")) {
                        return false;
                    }
                    String view = (String) node.command("CLUSTER", "NODES");
                    if (view.contains("fail") || view.contains("disconnected")) {
                        return false;
                    }
                    if (isMaster(node)) {
                        masters++;
                    } else if (!isSyncedReplica(node)) {
                        return false;
                    }
                }
                return masters == 3;
            });
        }
    }

    /** What the failover scenario needs to know about a deployment. */
    interface Deployment {
        /** Returns the configuration of an application server using this deployment, with redis_options. */
        SessionConfig config(Duration timeout);

        /** Returns the node that is now the master of the session's data. */
        RedisServerProcess masterOf(String sessionId) throws IOException;

        /** Returns the replica that would replace {@code master}. */
        RedisServerProcess replicaOf(RedisServerProcess master) throws IOException;

        /** Returns whether clients are now sent to {@code replica} as the master. */
        boolean isPromoted(RedisServerProcess replica) throws IOException;

        /** Waits until every node is up, with its role, and ready for a failover. */
        void awaitHealthy();
    }

    /**
     * Pauses the master of a session for {@link #PAUSE_MILLIS}, during which the deployment promotes its replica,
     * then resumes it, while three kinds of application servers write: plain ones, durable ones that give up after
     * 1 s (their writes stuck in the paused master time out), and durable ones that wait 9 s (their stuck writes run
     * when the master resumes, on a master that is no longer one). Asserts what must hold; see the class comment.
     */
    private static void masterPausedThenReplaced(Vertx vertx, Deployment deployment) throws Exception {
        deployment.awaitHealthy();
        AtomicInteger thinking = new AtomicInteger();
        TestServer plain = TestServer.start(vertx, deployment.config(SHORT_TIMEOUT), routes(thinking));
        TestServer quick = TestServer.start(
                vertx,
                deployment
                        .config(SHORT_TIMEOUT)
                        .setManager("redis")
                        .setBackendOption("redis_wait_replicas", ONE_REPLICA.replicas())
                        .setBackendOption(
                                "redis_wait_timeout_ms", ONE_REPLICA.timeout().toMillis()),
                routes(thinking));
        TestServer patient = TestServer.start(
                vertx,
                deployment
                        .config(OUTLASTS_PAUSE)
                        .setManager("redis")
                        .setBackendOption("redis_wait_replicas", ONE_REPLICA.replicas())
                        .setBackendOption(
                                "redis_wait_timeout_ms", ONE_REPLICA.timeout().toMillis()),
                routes(thinking));
        // vertx-redis-client 5.0 refreshes its Cluster topology from the first listed endpoint that answers, without a
        // read timeout: while that endpoint hangs (paused, or partitioned with its connections open) the refresh never
        // completes, so the client cannot follow a failover of that one node until it answers or dies. Setting
        // netClientOptions.readIdleTimeout in redis_options bounds the hang. This test fails over another master.
        String first = deployment
                .config(SHORT_TIMEOUT)
                .getBackendOptions()
                .getJsonObject("redis_options")
                .getJsonArray("endpoints")
                .getString(0);
        String id = null;
        for (int attempt = 0; id == null || first.endsWith(":" + deployment.masterOf(id).port); attempt++) {
            assertTrue(attempt < 50, "every new session lands on the first listed endpoint");
            id = cookie(untilStatus(plain, 200, "/write?k=user&v=alice", null));
        }
        String session = id;
        RedisServerProcess master = deployment.masterOf(session);
        RedisServerProcess replica = deployment.replicaOf(master);
        // Replication is asynchronous: a plain write is on the replica soon, not at once.
        awaitUntil(
                "the session reaches the replica", () -> replica.command("HGET", PREFIX + session, "k:user") != null);
        Writers plainWriters = Writers.start(vertx, List.of(plain), 3, deployment, master);
        Writers durableWriters = Writers.start(vertx, List.of(quick, patient), 2, deployment, master);

        plainWriters.awaitEachAcknowledgedAfter(now(), Duration.ofSeconds(15));
        durableWriters.awaitEachAcknowledgedAfter(now(), Duration.ofSeconds(15));
        // Stop the master while every writer is between its load and its save: each save is then sent to a master
        // that does not answer, and the patient ones run when it resumes, after the replica took over.
        int writers = plainWriters.size() + durableWriters.size();
        awaitUntil("every writer is about to save", () -> thinking.get() == writers, Duration.ofSeconds(10), 2);
        long pausedAt = now();
        master.pause();
        step("paused the master on port " + master.port);
        try {
            // Normally 2 to 4 s. A sentinel that was not scheduled for 2 s (an overloaded machine) enters TILT mode and
            // does nothing for 30 s, hence the long wait; the sentinels' logs then say "+tilt".
            awaitUntil("the replica is promoted", () -> deployment.isPromoted(replica), Duration.ofSeconds(75));
            long promotedAt = now();
            plainWriters.awaitEachAcknowledgedAfter(promotedAt, Duration.ofSeconds(15)); // the old master is still down
            assertEquals(
                    "alice", untilStatus(plain, 200, "/get?k=user", session).bodyAsString());
            Thread.sleep(Math.max(0, pausedAt + PAUSE_MILLIS - now()));
        } finally {
            master.resume();
            step("resumed the old master");
        }
        try {
            // Durable writes need a replica: the old master, once it follows the new one.
            durableWriters.awaitEachAcknowledgedAfter(now(), Duration.ofSeconds(30));
        } finally {
            plainWriters.stop();
            durableWriters.stop();
        }
        plainWriters.assertOnlyOkOr503WithinTimeout(plain, SHORT_TIMEOUT);
        durableWriters.assertOnlyOkOr503WithinTimeout(quick, SHORT_TIMEOUT);
        durableWriters.assertOnlyOkOr503WithinTimeout(patient, OUTLASTS_PAUSE);
        plainWriters.assertSome503After(pausedAt);
        durableWriters.assertSome503After(pausedAt);
        step("plain writers: " + plainWriters.summary() + "; durable writers: " + durableWriters.summary());
        durableWriters.assertEveryAcknowledgedWriteIsStored();
    }

    // ------------------------------------------------------------------ writers

    /**
     * Clients that each own a session and write a new key into it, one request after the other, recording what
     * every request got and how long it took.
     */
    private static final class Writers {

        record Outcome(TestServer server, String session, int n, int status, long startedAt, long millis) {}

        private final Vertx vertx;
        private final List<Outcome> outcomes = Collections.synchronizedList(new ArrayList<>());
        private final Map<String, TestServer> sessions = new HashMap<>();
        private final List<Future<Void>> loops = new ArrayList<>();
        private volatile boolean stopped;

        private Writers(Vertx vertx) {
            this.vertx = vertx;
        }

        /**
         * Creates {@code perServer} sessions on each server whose data {@code master} holds (before any fault), and
         * starts writing into them.
         */
        static Writers start(
                Vertx vertx, List<TestServer> servers, int perServer, Deployment deployment, RedisServerProcess master)
                throws Exception {
            Writers writers = new Writers(vertx);
            for (TestServer server : servers) {
                int created = 0;
                for (int attempt = 0; created < perServer; attempt++) {
                    assertTrue(attempt < 100, "too few new sessions land on the master of port " + master.port);
                    String id = cookie(untilStatus(server, 200, "/write?k=w0&v=0", null));
                    if (deployment.masterOf(id) == master) {
                        created++;
                        writers.sessions.put(id, server);
                        writers.outcomes.add(new Outcome(server, id, 0, 200, now(), 0));
                    }
                }
            }
            writers.sessions.forEach((id, server) -> writers.loops.add(writers.loop(server, id, 1)));
            return writers;
        }

        private Future<Void> loop(TestServer server, String id, int n) {
            if (stopped) {
                return Future.succeededFuture();
            }
            long startedAt = now();
            // The think time puts most requests between their load and their save when the master stops: their save is
            // then sent to a paused master that the client still takes for the master.
            return request(server, "/write?k=w" + n + "&v=" + n + "&think=" + THINK_MILLIS, id)
                    .timeout(OUTLASTS_PAUSE.toMillis() + 10_000)
                    .send()
                    .transform(ar -> {
                        int status = ar.succeeded() ? ar.result().statusCode() : -1; // -1: no answer at all
                        outcomes.add(new Outcome(server, id, n, status, startedAt, now() - startedAt));
                        return vertx.timer(20).compose(v -> loop(server, id, n + 1));
                    });
        }

        /** Waits until every writer got a 200 for a request it started at or after {@code since} ({@link #now()}). */
        void awaitEachAcknowledgedAfter(long since, Duration within) {
            awaitUntil(
                    "every writer gets a 200 again",
                    () -> {
                        Set<String> acknowledged = snapshot().stream()
                                .filter(o -> o.status == 200 && o.startedAt >= since)
                                .map(Outcome::session)
                                .collect(Collectors.toSet());
                        return acknowledged.containsAll(sessions.keySet());
                    },
                    within);
        }

        int size() {
            return sessions.size();
        }

        void stop() {
            if (!stopped) {
                stopped = true;
                Future.all(loops).await();
            }
        }

        /** Asserts every request of {@code server} got 200 or 503, each of its two Redis calls within the timeout. */
        void assertOnlyOkOr503WithinTimeout(TestServer server, Duration timeout) {
            long limit = 2 * timeout.toMillis() + THINK_MILLIS + SLACK_MILLIS;
            for (Outcome outcome : snapshot()) {
                if (outcome.server != server) {
                    continue;
                }
                assertTrue(
                        outcome.status == 200 || outcome.status == 503,
                        "a request got " + outcome.status + ": " + outcome);
                assertTrue(
                        outcome.millis <= limit,
                        "a request took " + outcome.millis + " ms, more than its load and save "
                                + "with redis_timeout_ms " + timeout.toMillis() + " allow (" + limit + " ms): "
                                + outcome);
            }
        }

        void assertSome503After(long since) {
            assertTrue(
                    snapshot().stream().anyMatch(o -> o.status == 503 && o.startedAt + o.millis >= since),
                    "the fault was not visible at all: did the master really stop?");
        }

        /** Reads every session back and asserts that each key whose write got a 200 is there. */
        void assertEveryAcknowledgedWriteIsStored() throws InterruptedException {
            List<String> lost = lostAcknowledgedWrites();
            assertEquals(List.of(), lost, lost.size() + " of " + count(200) + " acknowledged writes are gone");
        }

        /** Returns "session…/key" for each write that got a 200 and is not stored. */
        List<String> lostAcknowledgedWrites() throws InterruptedException {
            Map<String, Set<String>> acknowledged = new HashMap<>();
            for (Outcome outcome : snapshot()) {
                if (outcome.status == 200) {
                    acknowledged
                            .computeIfAbsent(outcome.session, id -> new TreeSet<>())
                            .add("w" + outcome.n);
                }
            }
            List<String> lost = new ArrayList<>();
            for (Map.Entry<String, Set<String>> entry : acknowledged.entrySet()) {
                String stored = untilStatus(sessions.get(entry.getKey()), 200, "/keys", entry.getKey())
                        .bodyAsString();
                Set<String> keys = new TreeSet<>(Arrays.asList(stored.split(",")));
                for (String key : entry.getValue()) {
                    if (!keys.contains(key)) {
                        lost.add(entry.getKey().substring(0, 6) + "…/" + key);
                    }
                }
            }
            return lost;
        }

        String summary() throws InterruptedException {
            return count(200) + " × 200, " + count(503) + " × 503, "
                    + lostAcknowledgedWrites().size() + " acknowledged but lost";
        }

        private long count(int status) {
            return snapshot().stream().filter(o -> o.status == status).count();
        }

        private List<Outcome> snapshot() {
            synchronized (outcomes) {
                return new ArrayList<>(outcomes);
            }
        }
    }

    // ------------------------------------------------------------------ helpers

    /** An answer, or no answer (status -1), and how long it took. */
    record Timed(int status, long millis) {}

    /** The test routes; {@code thinking} counts the requests between loading their session and committing. */
    private static Consumer<Router> routes(AtomicInteger thinking) {
        return router -> routes(router, thinking);
    }

    private static void routes(Router router, AtomicInteger thinking) {
        router.get("/write").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            String think = ctx.request().getParam("think");
            thinking.incrementAndGet();
            ctx.vertx().setTimer(think == null ? 1 : Long.parseLong(think), id -> {
                thinking.decrementAndGet();
                commit(ctx, session);
            });
        });
        router.get("/get").handler(ctx -> {
            Object value = SessionMiddleware.session(ctx).get(ctx.request().getParam("k"));
            ctx.end(String.valueOf(value));
        });
        router.get("/keys")
                .handler(ctx -> ctx.end(String.join(
                        ",", new TreeSet<>(SessionMiddleware.session(ctx).keys()))));
    }

    /** Puts the request's k=v into the session and commits it: 200 once stored, 503 when Redis is unavailable. */
    private static void commit(RoutingContext ctx, BaseSessionInterface session) {
        session.put(ctx.request().getParam("k"), ctx.request().getParam("v"));
        session.commit().onComplete(ar -> {
            if (ar.succeeded()) {
                ctx.end("ok");
            } else {
                // What an application does with a failed commit: a store that is unavailable is a 503.
                ctx.fail(ar.cause() instanceof SessionStoreUnavailableException ? 503 : 500, ar.cause());
            }
        });
    }

    private static HttpRequest<Buffer> request(TestServer server, String path, String id) {
        HttpRequest<Buffer> request = server.client.get(path);
        if (id != null) {
            request.putHeader("cookie", COOKIE + "=" + id);
        }
        return request;
    }

    private static HttpResponse<Buffer> get(TestServer server, String path, String id) {
        return request(server, path, id).send().await();
    }

    private static Future<Timed> timed(TestServer server, String path, String id) {
        long start = System.nanoTime();
        return request(server, path, id)
                .timeout(30_000)
                .send()
                .transform(ar -> Future.succeededFuture(new Timed(
                        ar.succeeded() ? ar.result().statusCode() : -1,
                        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start))));
    }

    private static void assertAnsweredWithin(int status, long timeoutMillis, Timed timed) {
        assertEquals(status, timed.status(), timed.toString());
        assertTrue(
                timed.millis() <= timeoutMillis + SLACK_MILLIS, timed + " took longer than " + timeoutMillis + " ms");
    }

    /** Repeats a request until it gets {@code status} (the client reconnects at its own pace), for at most 20 s. */
    private static HttpResponse<Buffer> untilStatus(TestServer server, int status, String path, String id)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        HttpResponse<Buffer> response;
        do {
            response = get(server, path, id);
            if (response.statusCode() == status) {
                return response;
            }
            Thread.sleep(50);
        } while (System.nanoTime() < deadline);
        return response;
    }

    private static String cookie(HttpResponse<Buffer> response) {
        assertEquals(200, response.statusCode(), response.bodyAsString());
        return TestServer.cookieValue(TestServer.setCookie(response, COOKIE));
    }

    /** A check that may talk to servers. */
    @FunctionalInterface
    private interface Check {
        boolean holds() throws IOException;
    }

    private static final long CLASS_START = System.nanoTime();

    /** Milliseconds since the class was loaded: the one clock of the failover scenario. */
    private static long now() {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - CLASS_START);
    }

    /** Writes a line to the test's output file: where a slow or flaky run spent its time. */
    private static void step(String what) {
        System.out.printf("[failover test +%6d ms] %s%n", now(), what);
    }

    private static void awaitUntil(String what, Check check) {
        awaitUntil(what, check, Duration.ofSeconds(25));
    }

    private static void awaitUntil(String what, Check check, Duration within) {
        awaitUntil(what, check, within, 50);
    }

    private static void awaitUntil(String what, Check check, Duration within, long pollMillis) {
        long deadline = System.nanoTime() + within.toNanos();
        Exception last = null;
        while (System.nanoTime() < deadline) {
            try {
                if (check.holds()) {
                    step(what);
                    return;
                }
            } catch (IOException | RuntimeException e) {
                last = e; // e.g. a node that is still starting
            }
            try {
                Thread.sleep(pollMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        fail("timed out after " + within.toMillis() + " ms waiting until " + what + (last == null ? "" : ": " + last));
    }

    /** Returns whether {@code node} is a replica whose link to its master is up. */
    private static boolean isSyncedReplica(RedisServerProcess node) throws IOException {
        List<?> role = (List<?>) node.command("ROLE");
        // ["slave", masterHost, masterPort, "connected", offset]
        return "slave".equals(role.get(0)) && "connected".equals(role.get(3));
    }

    private static RedisServerProcess node(List<RedisServerProcess> nodes, int port) {
        return nodes.stream()
                .filter(node -> node.port == port)
                .findFirst()
                .orElseThrow(() -> new IllegalStateException("no node on port " + port));
    }

    /** Turns a flat [name, value, name, value, ...] reply into a map. */
    private static Map<String, String> fields(List<?> flat) {
        Map<String, String> map = new HashMap<>();
        for (int i = 0; i + 1 < flat.size(); i += 2) {
            map.put((String) flat.get(i), String.valueOf(flat.get(i + 1)));
        }
        return map;
    }

    private static void closeAll(List<RedisServerProcess> processes) {
        for (RedisServerProcess process : processes) {
            try {
                process.close();
            } catch (IOException | RuntimeException e) {
                // the next one still has to go
            }
        }
        processes.clear();
    }
}
