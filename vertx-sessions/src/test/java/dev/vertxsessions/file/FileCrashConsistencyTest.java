package dev.vertxsessions.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.internal.SessionIds;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash consistency of the file backend: a server process ({@link CrashServerMain}) takes a steady stream of large
 * writes to 50 sessions and is killed with SIGKILL mid-write, five times, restarting each time. Afterwards every
 * session file is complete JSON of the expected structure holding exactly the last acknowledged version or the one
 * in flight at the kill (a write is atomic and an acknowledged one is never lost); no temporary file is left
 * except those the kills left between write and rename, which the sweeper removes once they are a minute old.
 */
@Tag("slow") // excluded by the fast set: mvn -B test -DexcludedGroups=slow
@ExtendWith(VertxExtension.class)
class FileCrashConsistencyTest {

    private static final int SESSIONS = 50;
    private static final int CYCLES = 5;
    private static final int ACKED_WRITES_PER_CYCLE = 600;

    /** What the client knows of one session. */
    private static final class Client {
        volatile String cookie;
        volatile int acked; // last version the server acknowledged (0: none)
        volatile int inFlight; // version sent and not yet acknowledged (0: none)
    }

    private Vertx vertx;
    private Process server;
    private int inFlightVersionsKept;
    /** The client's connections are reset by every kill; that is expected, so its SEVERE lines are muted. */
    private final java.util.logging.Logger connectionLog =
            java.util.logging.Logger.getLogger("io.vertx.core.net.impl.ConnectionBase");

    private java.util.logging.Level connectionLogLevel;

    @BeforeEach
    void setUp(Vertx vertx) {
        this.vertx = vertx;
        connectionLogLevel = connectionLog.getLevel();
        connectionLog.setLevel(java.util.logging.Level.OFF);
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        if (server != null && server.isAlive()) {
            server.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
        connectionLog.setLevel(connectionLogLevel);
    }

    @Test
    void sigkillMidWrite_leavesEverySessionFileCompleteAndAtAWrittenVersion(@TempDir Path root, VertxTestContext test) {
        test.verify(() -> {
            Path directory = root.resolve("sessions");
            List<Client> clients = new ArrayList<>();
            for (int i = 0; i < SESSIONS; i++) {
                clients.add(new Client());
            }
            int totalAcked = 0;
            for (int cycle = 1; cycle <= CYCLES; cycle++) {
                int port = startServer(directory, 0);
                WebClient http = WebClient.create(
                        vertx,
                        new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(port),
                        new io.vertx.core.http.PoolOptions().setHttp1MaxSize(SESSIONS));
                try {
                    if (cycle > 1) {
                        checkAfterRestart(http, clients);
                    }
                    totalAcked += writeUntilKilled(http, clients);
                } finally {
                    http.close();
                }
            }

            // Inspect the directory as the last kill left it.
            Map<String, Client> byId = new HashMap<>();
            for (Client client : clients) {
                assertTrue(SessionIds.isWellFormed(client.cookie));
                byId.put(client.cookie, client);
            }
            List<Path> temporary = new ArrayList<>();
            Set<String> seen = new java.util.HashSet<>();
            for (Path file : list(directory)) {
                String name = file.getFileName().toString();
                if (name.equals(".vertx-sessions.lock")) {
                    continue;
                }
                if (name.startsWith(".tmp-")) {
                    temporary.add(file);
                    continue;
                }
                assertTrue(name.startsWith("session_"), "unexpected file " + name);
                String id = name.substring("session_".length());
                Client client = byId.get(id);
                assertNotNull(client, "a session file nobody created: " + name);
                seen.add(id);
                assertCompleteAndWritten(file, client);
            }
            assertEquals(byId.keySet(), seen, "every session has its file");

            // Temporary files: those the kills left (between write and rename) plus two planted ones, one older than a
            // minute (a crash long ago: swept) and one fresh (perhaps another process's write in progress: kept).
            Path stale = directory.resolve(".tmp-session_" + SessionIds.generate() + "-1f");
            Path fresh = directory.resolve(".tmp-session_" + SessionIds.generate() + "-2f");
            Files.writeString(stale, "{\"version\":1,\"created\":");
            Files.writeString(fresh, "{\"version\":1,\"created\":");
            System.out.println("FileCrashConsistencyTest: the kills left " + temporary.size() + " temporary files");
            temporary.add(stale);
            FileTime twoMinutesAgo = FileTime.from(Instant.now().minusSeconds(120));
            for (Path file : temporary) {
                Files.setLastModifiedTime(file, twoMinutesAgo);
            }

            int port = startServer(directory, 1);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (temporary.stream().anyMatch(Files::exists) && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            for (Path file : temporary) {
                assertFalse(Files.exists(file), "the sweeper removes a temporary file over a minute old: " + file);
            }
            assertTrue(Files.exists(fresh), "the sweeper keeps a temporary file younger than a minute");
            WebClient http = WebClient.create(
                    vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(port));
            try {
                checkAfterRestart(http, clients);
            } finally {
                http.close();
            }
            for (Path file : list(directory)) {
                String name = file.getFileName().toString();
                if (name.startsWith("session_")) {
                    assertCompleteAndWritten(file, byId.get(name.substring("session_".length())));
                }
            }
            System.out.println("FileCrashConsistencyTest: " + totalAcked + " acknowledged writes over " + CYCLES
                    + " SIGKILLs; " + inFlightVersionsKept
                    + " sessions came back with the version in flight at a kill, the others"
                    + " with their last acknowledged one");
        });
        test.completeNow();
    }

    /** Drives writes on every session until enough are acknowledged, then SIGKILLs the server mid-write. */
    private int writeUntilKilled(WebClient http, List<Client> clients) throws InterruptedException {
        AtomicInteger acked = new AtomicInteger();
        CountDownLatch enough = new CountDownLatch(1);
        CountDownLatch stopped = new CountDownLatch(clients.size());
        for (Client client : clients) {
            writeLoop(http, client, acked, enough, stopped);
        }
        assertTrue(enough.await(120, TimeUnit.SECONDS), "writes stalled: only " + acked.get() + " acknowledged");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (clients.stream().anyMatch(c -> c.cookie == null) && System.nanoTime() < deadline) {
            Thread.sleep(10); // every session must exist (have a cookie) before the first kill
        }
        server.destroyForcibly(); // SIGKILL, with about 50 writes in flight
        assertTrue(server.waitFor(30, TimeUnit.SECONDS));
        assertTrue(stopped.await(60, TimeUnit.SECONDS), "client loops did not end after the kill");
        return acked.get();
    }

    private void writeLoop(
            WebClient http, Client client, AtomicInteger acked, CountDownLatch enough, CountDownLatch stopped) {
        int version = client.acked + 1;
        client.inFlight = version;
        var request = http.get("/write").addQueryParam("n", String.valueOf(version));
        if (client.cookie != null) {
            request.putHeader("cookie", "session_id=" + client.cookie);
        }
        request.send().onComplete(ar -> {
            if (ar.failed() || ar.result().statusCode() != 200) {
                stopped.countDown(); // the server is gone (or failed): stop; inFlight stays as it may have been written
                return;
            }
            if (client.cookie == null) {
                client.cookie = dev.vertxsessions.TestServer.cookieValue(
                        dev.vertxsessions.TestServer.setCookie(ar.result(), "session_id"));
            }
            client.acked = version;
            client.inFlight = 0;
            if (acked.incrementAndGet() >= ACKED_WRITES_PER_CYCLE) {
                enough.countDown();
            }
            writeLoop(http, client, acked, enough, stopped);
        });
    }

    /** After a restart, every session loads at its last acknowledged version or at the one in flight at the kill. */
    private void checkAfterRestart(WebClient http, List<Client> clients) {
        for (Client client : clients) {
            JsonObject read = new JsonObject(http.get("/read")
                    .putHeader("cookie", "session_id=" + client.cookie)
                    .send()
                    .await()
                    .bodyAsString());
            assertEquals(false, read.getBoolean("isNew"), "a session was lost");
            assertTrue(read.getBoolean("blobMatches"), "the value does not match its version");
            int n = read.getInteger("n");
            assertTrue(
                    n == client.acked || (client.inFlight != 0 && n == client.inFlight),
                    "loaded version " + n + ", acknowledged " + client.acked + ", in flight " + client.inFlight);
            if (n != client.acked) {
                inFlightVersionsKept++;
            }
            client.acked = n;
            client.inFlight = 0;
        }
    }

    private static void assertCompleteAndWritten(Path file, Client client) throws IOException {
        String text = SessionFiles.json(file);
        assertNotNull(text, "no complete version in " + file);
        JsonObject json = new JsonObject(text);
        assertEquals(Set.of("version", "created", "expires", "expiry", "data"), json.fieldNames(), file.toString());
        assertEquals(1, json.getInteger("version"));
        assertTrue(json.getLong("created") > 0 && json.getLong("expires") > json.getLong("created"));
        assertTrue(json.getValue("expiry") == null);
        JsonObject data = json.getJsonObject("data");
        assertEquals(Set.of("n", "blob"), data.fieldNames());
        int n = data.getInteger("n");
        assertTrue(
                n == client.acked || (client.inFlight != 0 && n == client.inFlight),
                file + " holds version " + n + ", acknowledged " + client.acked + ", in flight " + client.inFlight);
        assertEquals(CrashServerMain.blob(n), data.getString("blob"), "a value that was never written");
    }

    /**
     * The user index across crashes: logins of one user at a limit of 3 stream in from 16 connections while the
     * process is killed with SIGKILL, three times. After each restart the index lists only sessions that load as that
     * user (it never outlives a session, whatever step of a login the kill cut), at most the limit, and the next
     * login brings the user back to exactly the limit.
     */
    @Test
    void sigkillDuringLogins_leavesAUserIndexThatListsOnlyLiveSessions_andTheLimitHolds(
            @TempDir Path root, VertxTestContext test) {
        test.verify(() -> {
            Path directory = root.resolve("sessions");
            for (int cycle = 1; cycle <= 3; cycle++) {
                int port = startServer(directory, 0, "3");
                WebClient http = WebClient.create(
                        vertx,
                        new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(port),
                        new io.vertx.core.http.PoolOptions().setHttp1MaxSize(16));
                try {
                    if (cycle > 1) {
                        assertIndexListsOnlyLiveSessions(http, 3);
                        assertEquals(
                                200, http.post("/login/alice").send().await().statusCode());
                        assertEquals(3, assertIndexListsOnlyLiveSessions(http, 3), "a login after the crash");
                    }
                    CountDownLatch stopped = new CountDownLatch(16);
                    AtomicInteger acked = new AtomicInteger();
                    for (int i = 0; i < 16; i++) {
                        loginLoop(http, acked, stopped);
                    }
                    while (acked.get() < 150) {
                        Thread.sleep(10);
                    }
                    server.destroyForcibly(); // SIGKILL, with about 16 logins in flight
                    server.waitFor(30, TimeUnit.SECONDS);
                    assertTrue(stopped.await(60, TimeUnit.SECONDS), "login loops did not end after the kill");
                } finally {
                    http.close();
                }
            }
            int port = startServer(directory, 0, "3");
            WebClient http = WebClient.create(
                    vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(port));
            try {
                assertIndexListsOnlyLiveSessions(http, 3);
            } finally {
                http.close();
            }
        });
        test.completeNow();
    }

    private void loginLoop(WebClient http, AtomicInteger acked, CountDownLatch stopped) {
        http.post("/login/alice").send().onComplete(ar -> {
            if (ar.succeeded() && ar.result().statusCode() == 200) {
                acked.incrementAndGet();
                loginLoop(http, acked, stopped);
            } else {
                stopped.countDown(); // the process was killed
            }
        });
    }

    /** Asserts that every ID the index lists loads as alice and there are at most {@code limit}; returns how many. */
    private static int assertIndexListsOnlyLiveSessions(WebClient http, int limit) {
        JsonArray listed =
                new JsonArray(http.get("/sessions-of/alice").send().await().bodyAsString());
        assertTrue(listed.size() <= limit, "the index lists " + listed.size() + " sessions, over the limit " + limit);
        for (Object id : listed) {
            String principal = http.get("/whoami")
                    .putHeader("cookie", "session_id=" + id)
                    .send()
                    .await()
                    .bodyAsString();
            assertEquals("alice", principal, "a session the index lists loads as its user");
        }
        return listed.size();
    }

    /** Starts {@link CrashServerMain} in a new JVM and returns its port. */
    private int startServer(Path directory, int sweepSeconds, String... more) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        server = new ProcessBuilder(
                        java,
                        "-Xmx128m",
                        "-XX:+UseSerialGC",
                        "-XX:TieredStopAtLevel=1",
                        "-cp",
                        System.getProperty("java.class.path"),
                        CrashServerMain.class.getName(),
                        directory.toString(),
                        String.valueOf(sweepSeconds),
                        more.length > 0 ? more[0] : "0")
                .redirectErrorStream(true)
                .start();
        CompletableFuture<Integer> port = new CompletableFuture<>();
        StringBuilder output = new StringBuilder();
        Process process = server;
        Thread reader = new Thread(
                () -> {
                    try (BufferedReader lines = new BufferedReader(
                            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                        for (String line; (line = lines.readLine()) != null; ) {
                            if (line.startsWith("PORT ")) {
                                port.complete(Integer.parseInt(line.substring(5).trim()));
                            } else {
                                synchronized (output) {
                                    output.append(line).append('\n');
                                }
                            }
                        }
                    } catch (IOException e) {
                        // the process was killed
                    }
                    port.completeExceptionally(new IllegalStateException("server exited without a port: " + output));
                },
                "crash-server-output");
        reader.setDaemon(true);
        reader.start();
        return port.get(60, TimeUnit.SECONDS);
    }

    private static List<Path> list(Path directory) throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            return files.sorted().collect(Collectors.toList());
        }
    }
}
