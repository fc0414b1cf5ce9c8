package dev.vertxsessions.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.MutableClock;
import dev.vertxsessions.SessionChanges;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionInfo;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.SessionRoutes;
import dev.vertxsessions.TestChanges;
import dev.vertxsessions.TestServer;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetSocket;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(VertxExtension.class)
class FileBackendTest {

    static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    static final AtomicReference<Promise<Void>> SLOW = new AtomicReference<>();
    /** Held by /hold inside a locked update, so a save of the same session queues behind it. */
    static volatile CountDownLatch holdEntered = new CountDownLatch(1);

    static volatile CountDownLatch holdRelease = new CountDownLatch(1);

    @TempDir
    Path root;
    /** The session directory, inside a temporary root that the path-safety test watches as a whole. */
    Path dir;

    Vertx vertx;
    MutableClock clock;
    TestServer server;

    /** The routes of this test, also served by {@link FileServerMain} in another process. */
    static void routes(Router router) {
        SessionRoutes.install(router);
        router.get("/big2").handler(TestServer.text(s -> {
            s.put("blob", String.valueOf(System.nanoTime()).repeat(2000));
            return "ok";
        }));
        router.get("/set/:key").handler(ctx -> {
            SessionMiddleware.session(ctx)
                    .put(
                            ctx.pathParam("key"),
                            Integer.parseInt(ctx.pathParam("key").substring(1)));
            ctx.end("ok");
        });
        router.get("/regenerate-then-increment").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            session.regenerate();
            session.remove("counter");
            session.increment("counter")
                    .onSuccess(n -> {
                        session.put("after", true);
                        ctx.end(String.valueOf(n));
                    })
                    .onFailure(ctx::fail);
        });
        router.get("/keys").handler(TestServer.text(s -> new TreeSet<>(s.keys())));
        router.post("/login-as/:user").handler(ctx -> {
            SessionMiddleware.session(ctx)
                    .regenerate()
                    .setPrincipal(ctx.pathParam("user"))
                    .put("user", ctx.pathParam("user"));
            ctx.end("ok");
        });
        router.post("/login-commit/:user").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx)
                    .regenerate()
                    .setPrincipal(ctx.pathParam("user"))
                    .put("user", ctx.pathParam("user"));
            session.commit().onSuccess(v -> ctx.end("ok")).onFailure(ctx::fail); // answers once the login is stored
        });
        router.get("/whoami").handler(TestServer.text(BaseSessionInterface::getPrincipal));
        router.get("/same/:i").handler(ctx -> {
            SessionMiddleware.session(ctx).put("same", ("v" + ctx.pathParam("i") + "-").repeat(200));
            ctx.end("ok");
        });
        router.get("/same-value").handler(TestServer.text(s -> s.get("same")));
        router.get("/inc")
                .handler(ctx -> SessionMiddleware.session(ctx)
                        .increment("n")
                        .onSuccess(n -> ctx.end(String.valueOf(n)))
                        .onFailure(ctx::fail));
        router.get("/n").handler(TestServer.text(s -> s.get("n", 0)));
        router.get("/hold")
                .handler(ctx -> SessionMiddleware.session(ctx)
                        .update("held", v -> {
                            holdEntered.countDown(); // on the store's worker thread, with the session's lock held
                            try {
                                holdRelease.await(30, TimeUnit.SECONDS);
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                            return true;
                        })
                        .onSuccess(v -> ctx.end("released"))
                        .onFailure(ctx::fail));
        router.get("/slow").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            Promise<Void> promise = Promise.promise();
            SLOW.set(promise);
            promise.future().onComplete(v -> {
                session.put("slow", true);
                ctx.end("slow done");
            });
        });
        router.get("/commit").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            session.put("committed", true);
            session.commit()
                    .onSuccess(v -> ctx.end("durable"))
                    .onFailure(e -> ctx.response().setStatusCode(503).end());
        });
    }

    @BeforeEach
    void start(Vertx vertx) {
        this.vertx = vertx;
        dir = root.resolve("sessions");
        clock = new MutableClock(T0);
        server = start(new SessionConfig());
    }

    TestServer start(SessionConfig config) {
        return TestServer.start(
                vertx,
                config.setClock(clock).setBackend(FileSessionInterface.factory(dir, "session_")),
                FileBackendTest::routes);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    Path file(String id) {
        return dir.resolve("session_" + id);
    }

    /** Returns the data of the newest version in the session file of {@code id}. */
    JsonObject storedData(String id) throws IOException {
        return new JsonObject(SessionFiles.json(file(id))).getJsonObject("data");
    }

    Set<String> tree() throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            // Directory sizes and times change with the legitimate session files this test creates and removes.
            return paths.map(p -> root.relativize(p)
                            + (Files.isDirectory(p)
                                    ? "/"
                                    : " " + p.toFile().length() + " "
                                            + p.toFile().lastModified()))
                    .collect(Collectors.toCollection(TreeSet::new));
        }
    }

    @Test
    void counter_writesOneJsonFilePerSession(VertxTestContext test) {
        test.verify(() -> {
            HttpResponse<Buffer> first = server.get("/");
            assertEquals("You've visited this page 1 times", first.bodyAsString());
            String id = TestServer.sessionCookie(first);
            assertEquals("You've visited this page 2 times", server.get("/", id).bodyAsString());
            assertEquals("2", server.get("/peek", id).bodyAsString()); // waits for the in-flight save
            long t0 = T0.toEpochMilli();
            assertEquals(
                    "{\"version\":1,\"created\":" + t0 + ",\"expires\":" + (t0 + 86_400_000L)
                            + ",\"expiry\":null,\"data\":{\"counter\":2}}",
                    SessionFiles.json(file(id)));
            try (Stream<Path> files = Files.list(dir)) {
                assertEquals(
                        List.of(".vertx-sessions.lock", "session_" + id),
                        files.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList()));
            }
        });
        test.completeNow();
    }

    @Test
    void laterWrites_goInPlaceIntoTheFreeSlot_keepingTheSameFile(VertxTestContext test) {
        test.verify(() -> {
            String id = TestServer.sessionCookie(server.get("/"));
            server.get("/peek", id);
            Object inode = Files.getAttribute(file(id), "unix:ino");
            assertEquals(1024, Files.size(file(id)));
            for (int i = 2; i <= 5; i++) {
                server.get("/", id);
            }
            assertEquals("5", server.get("/peek", id).bodyAsString());
            assertEquals(inode, Files.getAttribute(file(id), "unix:ino"), "rewritten instead of written in place");
            assertEquals(1024, Files.size(file(id)));
            String raw = SessionFiles.raw(file(id));
            // Version 5 went into the slot that held version 3; version 4 is still in the other one.
            assertEquals(512, raw.indexOf("VXS2", 1));
            assertTrue(raw.contains("{\"counter\":5}") && raw.contains("{\"counter\":4}"), raw);
            assertFalse(raw.contains("{\"counter\":3}"), raw);
        });
        test.completeNow();
    }

    @Test
    void tornNewestSlot_readsAsThePreviousVersion(VertxTestContext test) {
        test.verify(() -> {
            String id = TestServer.sessionCookie(server.get("/"));
            server.get("/", id);
            server.get("/", id);
            assertEquals("3", server.get("/peek", id).bodyAsString());
            // What a crash in the middle of writing version 3 leaves: that slot's JSON half new, half old.
            byte[] bytes = Files.readAllBytes(file(id));
            int at = SessionFiles.raw(file(id)).indexOf("{\"counter\":3}");
            bytes[at + "{\"counter\":".length()] = '9';
            Files.write(file(id), bytes);
            assertEquals("2", server.get("/peek", id).bodyAsString());
            assertEquals("You've visited this page 3 times", server.get("/", id).bodyAsString());
            assertEquals("3", server.get("/peek", id).bodyAsString());
            assertEquals(Map.of("counter", 3), storedData(id).getMap());
        });
        test.completeNow();
    }

    @Test
    void sessionOutgrowingItsSlot_movesToALargerFile_thenWritesInPlaceAgain(VertxTestContext test) {
        test.verify(() -> {
            String id = TestServer.sessionCookie(server.get("/"));
            server.get("/peek", id);
            assertEquals(1024, Files.size(file(id)));
            server.get("/big2", id); // 24,000 to 32,000 bytes of JSON
            server.get("/peek", id);
            long grown = Files.size(file(id));
            int json = SessionFiles.json(file(id)).length();
            assertTrue(json > 24_000, "json " + json);
            // Two slots, each the smallest power of two with room for twice the version and its header.
            assertEquals(2L * Integer.highestOneBit(2 * (20 + json) - 1) * 2, grown, "json " + json);
            Object inode = Files.getAttribute(file(id), "unix:ino");
            server.get("/", id);
            server.get("/", id);
            assertEquals("3", server.get("/peek", id).bodyAsString());
            assertEquals(inode, Files.getAttribute(file(id), "unix:ino"));
            assertEquals(grown, Files.size(file(id)));
            assertEquals(3, storedData(id).getInteger("counter"));
        });
        test.completeNow();
    }

    @Test
    void sessionFileReplacedByASymbolicLink_isNeverWrittenThrough(VertxTestContext test) {
        test.verify(() -> {
            String id = TestServer.sessionCookie(server.get("/"));
            assertEquals("1", server.get("/peek", id).bodyAsString());
            // Someone with access to the directory swaps the session file for a link to a file elsewhere.
            Path outside = Files.write(root.resolve("outside"), Files.readAllBytes(file(id)));
            Files.delete(file(id));
            Files.createSymbolicLink(file(id), outside);
            byte[] before = Files.readAllBytes(outside);
            HttpResponse<Buffer> write = server.get("/", id);
            server.get("/peek", id); // waits for the write in flight, whatever it did
            assertArrayEquals(before, Files.readAllBytes(outside), "written through the link: " + write.statusCode());
            assertTrue(Files.isSymbolicLink(file(id)));
        });
        test.completeNow();
    }

    @Test
    void hostileSessionIds_neverTouchAPathAndStartFresh(VertxTestContext test) {
        test.verify(() -> {
            Files.writeString(root.resolve("session_decoy"), "{}");
            Files.createDirectories(root.resolve("etc"));
            Files.writeString(root.resolve("etc/passwd"), "root:x:0:0");
            server.get("/peek"); // settle
            Set<String> before = tree();
            List<String> hostile = List.of(
                    "../x",
                    "../../etc/passwd",
                    "/etc/passwd",
                    "%2e%2e%2fx",
                    "..%2F..%2Fsession_decoy",
                    "..",
                    ".",
                    "session_decoy",
                    "../session_decoy",
                    "\\..\\x",
                    "x".repeat(4000),
                    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB",
                    "../AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
            for (String value : hostile) {
                HttpResponse<Buffer> response = server.get("/peek", value);
                assertEquals(200, response.statusCode(), value);
                assertEquals("0", response.bodyAsString(), value);
                assertEquals(List.of(), TestServer.setCookies(response), value);
                HttpResponse<Buffer> counted = server.get("/", value);
                assertEquals("You've visited this page 1 times", counted.bodyAsString(), value);
                String id = TestServer.sessionCookie(counted);
                assertNotEquals(value, id);
                assertTrue(id.matches("[A-Za-z0-9_-]{43}"), id);
                server.get("/peek", id); // wait for the write, then remove it so the tree compares equal
                Files.delete(file(id));
            }
            // The one value of the generated ID format is looked up (and found absent); every other value,
            // including those with characters a cookie may not hold, is counted as tampered, twice (once per
            // request).
            assertEquals(2L * (hostile.size() - 1), server.middleware.metrics().tamperedCookies());
            int reachedHandler = 0;
            for (String raw : List.of("session_id=..\u0000/x", "session_id=\u0001\u0002", "session_id=%00")) {
                String status =
                        rawRequest("GET /peek HTTP/1.1\r\nHost: x\r\nCookie: " + raw + "\r\nConnection: close\r\n\r\n");
                assertTrue(status.startsWith("HTTP/1.1 200") || status.startsWith("HTTP/1.1 400"), status);
                reachedHandler += status.startsWith("HTTP/1.1 200") ? 1 : 0;
            }
            assertEquals(before, tree());
            assertEquals(
                    2 * (hostile.size() - 1) + reachedHandler,
                    server.middleware.metrics().tamperedCookies());
        });
        test.completeNow();
    }

    private String rawRequest(String request) {
        NetSocket socket =
                vertx.createNetClient().connect(server.port(), "127.0.0.1").await();
        Promise<String> firstLine = Promise.promise();
        Buffer received = Buffer.buffer();
        socket.handler(buffer -> {
            received.appendBuffer(buffer);
            String text = received.toString(StandardCharsets.ISO_8859_1);
            if (text.contains("\r\n")) {
                firstLine.tryComplete(text.substring(0, text.indexOf("\r\n")));
            }
        });
        socket.closeHandler(v -> firstLine.tryComplete(received.toString(StandardCharsets.ISO_8859_1)));
        socket.write(Buffer.buffer(request.getBytes(StandardCharsets.ISO_8859_1)));
        String line = firstLine.future().await();
        socket.close();
        return line;
    }

    @Test
    void readsOfUnknownIds_createNothing(VertxTestContext test) {
        test.verify(() -> {
            Set<String> before = tree();
            for (int i = 0; i < 20; i++) {
                assertEquals(
                        "0",
                        server.get("/peek", dev.vertxsessions.internal.SessionIds.generate())
                                .bodyAsString());
            }
            assertEquals(before, tree());
        });
        test.completeNow();
    }

    @Test
    void writes_areAtomic_noReaderEverSeesAPartialFile(VertxTestContext test) {
        test.verify(() -> {
            String id = TestServer.sessionCookie(server.get("/"));
            server.get("/peek", id);
            AtomicBoolean running = new AtomicBoolean(true);
            AtomicInteger reads = new AtomicInteger();
            AtomicReference<String> broken = new AtomicReference<>();
            Thread reader = new Thread(() -> {
                while (running.get()) {
                    try {
                        JsonObject json = new JsonObject(SessionFiles.json(file(id)));
                        if (!json.containsKey("data")) {
                            broken.set(json.encode());
                        }
                        reads.incrementAndGet();
                    } catch (Exception e) {
                        broken.set(e.toString());
                    }
                }
            });
            reader.start();
            for (int i = 0; i < 150; i++) {
                server.get("/big2", id);
                server.get("/", id);
            }
            running.set(false);
            reader.join();
            assertNull(broken.get());
            assertTrue(reads.get() > 0);
            try (Stream<Path> files = Files.list(dir)) {
                assertEquals(
                        0,
                        files.filter(p -> p.getFileName().toString().startsWith(".tmp-"))
                                .count(),
                        "no temp file left");
            }
        });
        test.completeNow();
    }

    private List<Path> userIndexes() {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().startsWith(".vertx-sessions.user-"))
                    .toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void expiredFile_readsAsAbsentAndIsDeleted(VertxTestContext test) {
        test.verify(() -> {
            String id = TestServer.sessionCookie(server.get("/"));
            server.get("/peek", id);
            assertTrue(Files.exists(file(id)));
            clock.advance(Duration.ofSeconds(86401));
            HttpResponse<Buffer> response = server.get("/peek", id);
            assertEquals("0", response.bodyAsString());
            waitFor(() -> !Files.exists(file(id)));
        });
        test.completeNow();
    }

    /** Restarts the server with a sweeper that runs every 200 ms. */
    private void restartSweepingEvery200Ms() {
        server.close();
        server = TestServer.start(
                vertx,
                new SessionConfig()
                        .setClock(clock)
                        .setBackend(FileSessionInterface.factory(
                                new FileSessionOptions().setDirectory(dir).setSweepInterval(Duration.ofMillis(200)))),
                FileBackendTest::routes);
    }

    @Test
    void sweeper_deletesExpiredFilesAndStaleTempFiles(VertxTestContext test) {
        test.verify(() -> {
            restartSweepingEvery200Ms();
            String expiring = TestServer.sessionCookie(server.get("/short"));
            String living = TestServer.sessionCookie(server.get("/"));
            String alice = TestServer.sessionCookie(server.post("/login-as/alice", null));
            server.get("/peek", expiring);
            server.get("/peek", living);
            waitFor(() -> userIndexes().size() == 1); // the login's save may complete after its response
            List<Path> userIndexes = userIndexes();
            Path staleTemp = dir.resolve(".tmp-session_crashed");
            Files.writeString(staleTemp, "{\"half");
            Files.setLastModifiedTime(staleTemp, FileTime.from(Instant.now().minus(Duration.ofMinutes(5))));
            Path freshTemp = dir.resolve(".tmp-session_writing");
            Files.writeString(freshTemp, "{");
            Path foreign = dir.resolve("notes.txt");
            Files.writeString(foreign, "keep me");
            clock.advance(Duration.ofSeconds(1801));
            // The sweeper counts its deletions once it has been through the whole directory: wait for that too.
            waitFor(() -> !Files.exists(file(expiring))
                    && !Files.exists(staleTemp)
                    && server.middleware.metrics().sweeperDeletions() > 0);
            assertTrue(Files.exists(file(living)));
            assertTrue(Files.exists(freshTemp), "a temp file may be a write in progress");
            assertEquals(1, server.middleware.metrics().sweeperDeletions());
            assertTrue(Files.exists(foreign), "files that are not sessions are never touched");
            assertTrue(Files.exists(userIndexes.get(0)), "a user index is not a session");
            assertEquals("alice", server.get("/whoami", alice).bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void userIndex_listsNoExpiredSession_beforeOrAfterTheSweeper_andItsFileDropsItAtTheNextLogin(
            VertxTestContext test) {
        test.verify(() -> {
            restartSweepingEvery200Ms();
            String first = TestServer.sessionCookie(server.post("/login-commit/alice", null));
            clock.advance(Duration.ofHours(12));
            String second = TestServer.sessionCookie(server.post("/login-commit/alice", null));
            clock.advance(Duration.ofHours(12).plusSeconds(1)); // the first has expired, the second has not
            assertEquals(
                    List.of(second),
                    ids(server.middleware.sessions().sessionsOf("alice").await()));
            waitFor(() -> !Files.exists(file(first))); // the sweeper deleted it
            assertEquals(
                    List.of(second),
                    ids(server.middleware.sessions().sessionsOf("alice").await()));

            String third = TestServer.sessionCookie(server.post("/login-commit/alice", null));
            assertEquals(
                    Set.of(second, third),
                    new JsonObject(Files.readString(userIndexes().get(0))).fieldNames(),
                    "the login rewrote the index without the expired session");
            assertEquals(
                    List.of(second, third),
                    ids(server.middleware.sessions().sessionsOf("alice").await()));
        });
        test.completeNow();
    }

    private static List<String> ids(List<SessionInfo> sessions) {
        return sessions.stream().map(SessionInfo::id).toList();
    }

    @Test
    void logoutAndInvalidate_deleteTheFile(VertxTestContext test) {
        test.verify(() -> {
            String id = TestServer.sessionCookie(server.get("/"));
            server.get("/peek", id);
            HttpResponse<Buffer> logout = server.post("/logout", id);
            assertEquals(302, logout.statusCode());
            assertTrue(TestServer.setCookie(logout, "session_id").startsWith("session_id=; Max-Age=0; "));
            assertEquals("0", server.get("/peek", id).bodyAsString());
            assertFalse(Files.exists(file(id)));

            String other = TestServer.sessionCookie(server.get("/"));
            server.get("/peek", other);
            assertEquals("invalidated", server.post("/invalidate", other).bodyAsString());
            assertEquals("0", server.get("/peek", other).bodyAsString());
            assertFalse(Files.exists(file(other)));
        });
        test.completeNow();
    }

    @Test
    void regenerate_movesTheDataAndDeletesTheOldFile(VertxTestContext test) {
        test.verify(() -> {
            String id = TestServer.sessionCookie(server.get("/"));
            HttpResponse<Buffer> login = server.post("/login", id);
            String newId = TestServer.sessionCookie(login);
            assertEquals(id + " " + newId, login.bodyAsString());
            assertEquals("1", server.get("/peek", newId).bodyAsString());
            assertFalse(Files.exists(file(id)));
            assertEquals(
                    Map.of("counter", 1, "user_id", "alice", BaseSessionInterface.PROMOTED_KEY, true),
                    storedData(newId).getMap());
            assertEquals("0", server.get("/peek", id).bodyAsString(), "the old ID is dead");
        });
        test.completeNow();
    }

    @Test
    void regenerateRemoveAndIncrement_inOneRequest_keepEveryChange(VertxTestContext test) {
        test.verify(() -> {
            String id = TestServer.sessionCookie(server.get("/"));
            server.get("/", id);
            HttpResponse<Buffer> response = server.get("/regenerate-then-increment", id);
            assertEquals("1", response.bodyAsString(), "the removed counter restarts at 1");
            String newId = TestServer.sessionCookie(response);
            assertNotEquals(id, newId);
            assertEquals("[after, counter]", server.get("/keys", newId).bodyAsString());
            assertEquals("1", server.get("/peek", newId).bodyAsString());
            assertFalse(Files.exists(file(id)));
        });
        test.completeNow();
    }

    @Test
    void commit_completesOnlyOnceTheFileIsWritten(VertxTestContext test) {
        test.verify(() -> {
            HttpResponse<Buffer> response = server.get("/commit");
            assertEquals("durable", response.bodyAsString());
            String id = TestServer.sessionCookie(response);
            // No other request in between: the file must already be there when the response arrives.
            assertEquals(Map.of("committed", true), storedData(id).getMap());
        });
        test.completeNow();
    }

    @Test
    void slowRequest_overlappingALogout_doesNotResurrectTheSession(VertxTestContext test) {
        test.verify(() -> {
            String id = TestServer.sessionCookie(server.get("/"));
            server.get("/peek", id);
            Future<HttpResponse<Buffer>> slow = server.client
                    .get("/slow")
                    .putHeader("cookie", "session_id=" + id)
                    .send();
            waitFor(() -> SLOW.get() != null);
            assertEquals(302, server.post("/logout", id).statusCode());
            assertEquals("0", server.get("/peek", id).bodyAsString()); // waits for the logout's delete in flight
            assertFalse(Files.exists(file(id)));
            vertx.runOnContext(v -> SLOW.getAndSet(null).complete());
            assertEquals("slow done", slow.await().bodyAsString());
            assertEquals("0", server.get("/peek", id).bodyAsString());
            assertFalse(Files.exists(file(id)), "the slow request did not write the session back");
            assertEquals(1, server.middleware.metrics().conflicts());
            assertEquals(1, server.middleware.metrics().deletes());
        });
        test.completeNow();
    }

    @Test
    void parallelRequests_changingDifferentKeys_allKeepTheirChange(VertxTestContext test) {
        test.verify(() -> {
            String id = TestServer.sessionCookie(server.get("/"));
            List<Future<HttpResponse<Buffer>>> requests = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                requests.add(server.client
                        .get("/set/k" + i)
                        .putHeader("cookie", "session_id=" + id)
                        .send());
            }
            Future.all(requests).await();
            for (Future<HttpResponse<Buffer>> request : requests) {
                assertEquals(200, request.result().statusCode());
            }
            Set<String> expected = new TreeSet<>();
            expected.add("counter");
            for (int i = 0; i < 200; i++) {
                expected.add("k" + i);
            }
            assertEquals(expected.toString(), server.get("/keys", id).bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void parallelWritesOfTheSameKey_endWithOneOfTheWrittenValues(VertxTestContext test) {
        test.verify(() -> {
            String id = TestServer.sessionCookie(server.get("/"));
            List<Future<HttpResponse<Buffer>>> requests = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                requests.add(server.client
                        .get("/same/" + i)
                        .putHeader("cookie", "session_id=" + id)
                        .send());
            }
            Future.all(requests).await();
            String value = server.get("/same-value", id).bodyAsString();
            assertTrue(
                    value.matches("(v(\\d+)-)\\1{199}"),
                    "one whole written value, not a mix: " + value.substring(0, 40));
            JsonObject stored = storedData(id);
            assertEquals(value, stored.getString("same"));
            assertEquals(1, stored.getInteger("counter"));
        });
        test.completeNow();
    }

    @Test
    void slowRequest_overlappingALogin_doesNotRecreateTheOldSession_andItsWriteFollowsTheLogin(VertxTestContext test) {
        test.verify(() -> {
            String id = TestServer.sessionCookie(server.get("/"));
            server.get("/peek", id);
            Future<HttpResponse<Buffer>> slow = server.client
                    .get("/slow")
                    .putHeader("cookie", "session_id=" + id)
                    .send();
            waitFor(() -> SLOW.get() != null);
            String newId = TestServer.sessionCookie(server.post("/login", id));
            assertEquals("1", server.get("/peek", newId).bodyAsString()); // waits for the login's save in flight
            assertFalse(Files.exists(file(id)));
            vertx.runOnContext(v -> SLOW.getAndSet(null).complete());
            assertEquals("slow done", slow.await().bodyAsString());
            assertEquals("0", server.get("/peek", id).bodyAsString());
            assertFalse(Files.exists(file(id)), "the slow request did not write the old session back");
            // This process saw the login move the session, so the slow request's own key went to the new ID.
            assertEquals("[counter, slow, user_id]", server.get("/keys", newId).bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void requestWaitingForASave_takesWhatTheSaveWrote_insteadOfReadingTheFile(VertxTestContext test) {
        test.verify(() -> {
            String id = TestServer.sessionCookie(server.get("/"));
            assertEquals("1", server.get("/peek", id).bodyAsString()); // the new session's file is written
            holdEntered = new CountDownLatch(1);
            holdRelease = new CountDownLatch(1);
            Future<HttpResponse<Buffer>> hold = server.client
                    .get("/hold")
                    .putHeader("cookie", "session_id=" + id)
                    .send();
            assertTrue(holdEntered.await(10, TimeUnit.SECONDS));
            // The increment is answered at once; its save waits for the lock that /hold holds.
            assertEquals("You've visited this page 2 times", server.get("/", id).bodyAsString());
            long before = server.middleware.metrics().loadsFromSaves();
            Future<HttpResponse<Buffer>> peek = server.client
                    .get("/keys")
                    .putHeader("cookie", "session_id=" + id)
                    .send();
            Thread.sleep(200);
            assertFalse(peek.isComplete(), "the load waits for the save in flight");
            holdRelease.countDown();
            assertEquals("released", hold.await().bodyAsString());
            // The save merged its change into the file as /hold left it, and the waiting load got exactly that.
            assertEquals("[counter, held]", peek.await().bodyAsString());
            assertEquals(before + 1, server.middleware.metrics().loadsFromSaves());
            assertEquals(Map.of("counter", 2, "held", true), storedData(id).getMap());
        });
        test.completeNow();
    }

    @Test
    void savedVersion_isLatestOnlyUntilTheSessionsStripeIsLockedAgain(VertxTestContext test) {
        test.verify(() -> {
            FileSessionRepository store = new FileSessionRepository(
                    vertx,
                    new FileSessionOptions()
                            .setDirectory(dir)
                            .setPrefix("other_")
                            .setSweepInterval(Duration.ZERO),
                    clock);
            try {
                String id = dev.vertxsessions.internal.SessionIds.generate();
                FileSessionRepository.Written first =
                        store.write(changes(id, false, "a", 1)).await();
                assertTrue(store.isLatest(id, first));
                FileSessionRepository.Written second =
                        store.write(changes(id, true, "b", 2)).await();
                assertFalse(store.isLatest(id, first), "a later write of the same session");
                assertTrue(store.isLatest(id, second));
                assertEquals(
                        Map.of("a", 1, "b", 2),
                        new JsonObject(Buffer.buffer(second.json))
                                .getJsonObject("data")
                                .getMap());
                store.delete(id).await();
                assertFalse(store.isLatest(id, second), "deleted since");
            } finally {
                store.close().await();
            }
        });
        test.completeNow();
    }

    private static SessionChanges changes(String id, boolean mustExist, String key, Object value) {
        return TestChanges.put(id, !mustExist, key, value, T0.toEpochMilli(), T0.toEpochMilli() + 60_000);
    }

    @Test
    void parallelIncrements_loseNothing(VertxTestContext test) {
        test.verify(() -> {
            String id = TestServer.sessionCookie(server.get("/"));
            List<Future<HttpResponse<Buffer>>> requests = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                requests.add(server.client
                        .get("/inc")
                        .putHeader("cookie", "session_id=" + id)
                        .send());
            }
            Future.all(requests).await();
            Set<String> answers = new TreeSet<>();
            for (Future<HttpResponse<Buffer>> request : requests) {
                assertEquals(200, request.result().statusCode());
                answers.add(request.result().bodyAsString());
            }
            assertEquals(100, answers.size(), "every increment saw a distinct value");
            assertEquals("100", server.get("/n", id).bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void newSession_incrementedInParallelByOneBrowser_countsEveryRequest(VertxTestContext test) {
        test.verify(() -> {
            HttpResponse<Buffer> first = server.get("/inc");
            assertEquals("1", first.bodyAsString());
            String id = TestServer.sessionCookie(first);
            assertEquals("1", server.get("/n", id).bodyAsString());
        });
        test.completeNow();
    }

    /** Starts {@link FileServerMain} on {@link #dir} with {@code args}; returns it once it listens, and its port. */
    private Process startOther(int[] port, String... args) throws IOException {
        FileServerMain.Child child = FileServerMain.startChild(dir, args);
        port[0] = child.port();
        return child.process();
    }

    @Test
    void twoProcesses_sharingTheDirectory_loseNoIncrement(VertxTestContext test) {
        test.verify(() -> {
            int[] port = new int[1];
            Process other = startOther(port);
            try {
                int otherPort = port[0];
                assertTrue(otherPort > 0, "the second process started");
                // The other process uses the real clock: give this one the real time too.
                server.close();
                clock.advance(Duration.between(clock.instant(), Instant.now()));
                server = start(new SessionConfig());
                String id = TestServer.sessionCookie(server.get("/inc"));
                List<Future<HttpResponse<Buffer>>> requests = new ArrayList<>();
                for (int i = 0; i < 60; i++) {
                    requests.add(server.client
                            .get("/inc")
                            .putHeader("cookie", "session_id=" + id)
                            .send());
                    requests.add(server.client
                            .request(HttpMethod.GET, otherPort, "127.0.0.1", "/inc")
                            .putHeader("cookie", "session_id=" + id)
                            .send());
                }
                Future.all(requests).await();
                for (Future<HttpResponse<Buffer>> request : requests) {
                    assertEquals(
                            200, request.result().statusCode(), request.result().bodyAsString());
                }
                assertEquals("121", server.get("/n", id).bodyAsString());
                HttpResponse<Buffer> fromOther = server.client
                        .request(HttpMethod.GET, otherPort, "127.0.0.1", "/n")
                        .putHeader("cookie", "session_id=" + id)
                        .send()
                        .await();
                assertEquals("121", fromOther.bodyAsString());
            } finally {
                other.destroyForcibly().waitFor();
            }
        });
        test.completeNow();
    }

    @Test
    void twoProcesses_sharingTheDirectory_keepOneUserLimit_underParallelLogins(VertxTestContext test) {
        test.verify(() -> {
            int[] port = new int[1];
            Process other = startOther(port, "user-limit", "3");
            try {
                int otherPort = port[0];
                assertTrue(otherPort > 0, "the second process started");
                server.close();
                clock.advance(Duration.between(clock.instant(), Instant.now())); // the other process runs on real time
                server = start(new SessionConfig().setMaxSessionsPerUser(3));
                List<Future<HttpResponse<Buffer>>> logins = new ArrayList<>();
                for (int i = 0; i < 12; i++) {
                    logins.add(server.client.post("/login-commit/alice").send());
                    logins.add(server.client
                            .request(HttpMethod.POST, otherPort, "127.0.0.1", "/login-commit/alice")
                            .send());
                }
                Future.join(logins).await();
                List<String> cookies = new ArrayList<>();
                for (Future<HttpResponse<Buffer>> login : logins) {
                    assertEquals(
                            200, login.result().statusCode(), login.result().bodyAsString());
                    cookies.add(TestServer.sessionCookie(login.result()));
                }
                int loggedIn = 0;
                for (String cookie : cookies) {
                    if ("alice".equals(server.get("/whoami", cookie).bodyAsString())) {
                        loggedIn++;
                    }
                }
                assertEquals(3, loggedIn, "24 logins through two processes leave exactly the limit logged in");
                assertEquals(3, server.middleware.sessions().countOf("alice").await(), "the index agrees");
                HttpResponse<Buffer> again = server.client
                        .request(HttpMethod.POST, otherPort, "127.0.0.1", "/login-commit/alice")
                        .send()
                        .await();
                assertEquals(200, again.statusCode());
                assertEquals(
                        3, server.middleware.sessions().countOf("alice").await(), "one more login ends the oldest");
            } finally {
                other.destroyForcibly().waitFor();
            }
        });
        test.completeNow();
    }

    static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met within 10 s");
            }
            Thread.sleep(20);
        }
    }
}
