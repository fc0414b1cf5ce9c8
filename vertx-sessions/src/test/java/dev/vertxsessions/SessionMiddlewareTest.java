package dev.vertxsessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.Checkpoint;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** How the middleware answers store faults, and that it runs once per request. */
@ExtendWith(VertxExtension.class)
class SessionMiddlewareTest {

    /** A backend whose store is down: every load and save fails, at once. */
    static class BrokenStore extends BaseSessionInterface {
        @Override
        protected Future<Void> load() {
            return Future.failedFuture(new SessionStoreUnavailableException("store down", null));
        }

        @Override
        protected Future<Void> save() {
            return Future.failedFuture(new SessionStoreUnavailableException("store down", null));
        }
    }

    /** A backend whose writes fail a moment later, after the response has gone out. */
    static class LateFailingStore extends BaseSessionInterface {
        @Override
        protected Future<Void> load() {
            return Future.succeededFuture();
        }

        @Override
        protected Future<Void> save() {
            io.vertx.core.Promise<Void> promise = io.vertx.core.Promise.promise();
            vertx().setTimer(20, id -> promise.fail(new SessionStoreUnavailableException("disk gone", null)));
            return promise.future();
        }
    }

    static final List<io.vertx.core.Promise<Void>> GATES = java.util.Collections.synchronizedList(new ArrayList<>());

    /** A backend whose writes complete only when the test opens their gates. */
    static class GatedStore extends BaseSessionInterface {
        @Override
        protected Future<Void> load() {
            return Future.succeededFuture();
        }

        @Override
        protected Future<Void> save() {
            io.vertx.core.Promise<Void> gate = io.vertx.core.Promise.promise();
            GATES.add(gate);
            return gate.future();
        }
    }

    static final AtomicInteger LOADS = new AtomicInteger();

    /** Counts loads, stores nothing. */
    static class CountingStore extends BaseSessionInterface {
        @Override
        protected Future<Void> load() {
            LOADS.incrementAndGet();
            return Future.succeededFuture();
        }

        @Override
        protected Future<Void> save() {
            return Future.succeededFuture();
        }
    }

    static final AtomicInteger INSTANCES = new AtomicInteger();
    static final java.util.Map<String, java.util.Map<String, Object>> DOCUMENTS =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** Keeps whole sessions in a map and counts the instances the middleware builds. */
    static class InstanceCountingStore extends BaseSessionInterface {
        InstanceCountingStore() {
            INSTANCES.incrementAndGet();
        }

        @Override
        protected Future<Void> load() {
            java.util.Map<String, Object> stored = DOCUMENTS.get(getSessionKey());
            if (stored != null) {
                restore(stored);
            }
            return Future.succeededFuture();
        }

        @Override
        protected Future<Void> save() {
            DOCUMENTS.put(getSessionKey(), new java.util.LinkedHashMap<>(data()));
            return Future.succeededFuture();
        }

        @Override
        protected Future<Void> delete(String sessionKey) {
            DOCUMENTS.remove(sessionKey);
            return Future.succeededFuture();
        }
    }

    Vertx vertx;
    TestServer server;
    final List<LogRecord> logged = new ArrayList<>();
    /** Runs after each record the middleware logs, on the thread that logged it. */
    volatile Runnable onLogged = () -> {};

    final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            synchronized (logged) {
                logged.add(record);
            }
            onLogged.run();
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };

    @BeforeEach
    void start(Vertx vertx) {
        this.vertx = vertx;
        Logger.getLogger(SessionMiddleware.class.getName()).addHandler(capture);
    }

    @AfterEach
    void stop() {
        Logger.getLogger(SessionMiddleware.class.getName()).removeHandler(capture);
        server.close();
    }

    @Test
    void storeDown_loadAnswers503_andSaveFailuresAreNeverSilent(VertxTestContext test) {
        test.verify(() -> {
            server = TestServer.start(
                    vertx, new SessionConfig().setManager(SessionManagerFactory.of(BrokenStore::new)), router -> {
                        TestServer.counter(router);
                        router.get("/commit").handler(ctx -> {
                            BaseSessionInterface session = SessionMiddleware.session(ctx);
                            session.put("k", 1);
                            session.commit()
                                    .onSuccess(v -> ctx.end("saved"))
                                    .onFailure(e ->
                                            ctx.response().setStatusCode(503).end("not saved: " + e.getMessage()));
                        });
                    });
            HttpResponse<Buffer> load = server.get("/", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
            assertEquals(503, load.statusCode());
            assertEquals("Service Unavailable", load.bodyAsString());
            assertEquals(1, server.middleware.metrics().loadFailures());

            HttpResponse<Buffer> commit = server.get("/commit");
            assertEquals(503, commit.statusCode());
            assertEquals("not saved: store down", commit.bodyAsString());
            assertNull(TestServer.setCookie(commit, "session_id"), "no cookie for data that was not stored");

            HttpResponse<Buffer> automatic = server.get("/");
            assertEquals(503, automatic.statusCode(), "a store that fails before the headers go out gets no 2xx");
            assertNull(TestServer.setCookie(automatic, "session_id"));
            assertEquals(2, server.middleware.metrics().saveFailures());
            synchronized (logged) {
                assertTrue(
                        logged.stream()
                                .anyMatch(r -> r.getLevel().getName().equals("WARNING")
                                        && r.getMessage()
                                                .startsWith("session save failed (backend custom), answering 503: ")),
                        logged.toString());
            }
        });
        test.completeNow();
    }

    @Test
    void lateSaveFailure_isLoggedAndCounted(VertxTestContext testContext) throws Exception {
        server = TestServer.start(
                vertx,
                new SessionConfig().setManager(SessionManagerFactory.of(LateFailingStore::new)),
                TestServer::counter);
        java.util.function.BooleanSupplier warned = () -> {
            synchronized (logged) {
                return logged.stream()
                        .anyMatch(r -> r.getLevel().getName().equals("WARNING")
                                && r.getMessage()
                                        .startsWith(
                                                "session save failed (backend custom) after the response was sent: "));
            }
        };
        Checkpoint warning = testContext.laxCheckpoint();
        onLogged = () -> {
            if (warned.getAsBoolean()) {
                warning.flag();
            }
        };
        HttpResponse<Buffer> response = server.get("/");
        assertEquals(200, response.statusCode(), "the status was sent before the store answered");
        testContext.awaitCompletion(10, TimeUnit.SECONDS);
        assertTrue(warned.getAsBoolean(), logged.toString());
        assertEquals(1, server.middleware.metrics().saveFailures());
    }

    @Test
    void slowStore_holdsNewRequestsBackOnceTooManyWritesAreInFlight(VertxTestContext testContext) throws Exception {
        GATES.clear();
        server = TestServer.start(
                vertx, new SessionConfig().setManager(SessionManagerFactory.of(GatedStore::new)), TestServer::counter);
        int limit = WriteAdmission.MAX_WRITES_IN_FLIGHT;
        AtomicInteger answered = new AtomicInteger();
        Checkpoint upToTheLimit = testContext.laxCheckpoint(limit);
        List<Future<HttpResponse<Buffer>>> requests = new ArrayList<>();
        long deadline = System.nanoTime() + 20_000_000_000L;
        for (int i = 0; i < limit + 40; i++) {
            requests.add(server.client.get("/").send().onSuccess(r -> {
                answered.incrementAndGet();
                upToTheLimit.flag();
            }));
        }
        testContext.awaitCompletion(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        assertEquals(limit, answered.get(), "every request up to the limit is answered while its write is pending");
        Thread.sleep(300);
        assertEquals(limit, answered.get(), "the next ones wait for writes to finish");
        while (answered.get() < limit + 40 && System.nanoTime() < deadline) {
            List<io.vertx.core.Promise<Void>> open;
            synchronized (GATES) {
                open = new ArrayList<>(GATES);
                GATES.clear();
            }
            vertx.runOnContext(v -> open.forEach(io.vertx.core.Promise::tryComplete));
            Thread.sleep(10);
        }
        Future.all(requests).await();
        for (Future<HttpResponse<Buffer>> request : requests) {
            assertEquals(200, request.result().statusCode());
        }
        List<io.vertx.core.Promise<Void>> open;
        synchronized (GATES) {
            open = new ArrayList<>(GATES);
        }
        vertx.runOnContext(v -> open.forEach(io.vertx.core.Promise::tryComplete));
    }

    @Test
    void reroute_loadsTheSessionOnce(VertxTestContext test) {
        test.verify(() -> {
            LOADS.set(0);
            server = TestServer.start(
                    vertx, new SessionConfig().setManager(SessionManagerFactory.of(CountingStore::new)), router -> {
                        router.get("/a").handler(ctx -> ctx.reroute("/b"));
                        router.get("/b")
                                .handler(ctx -> ctx.end("b " + (ctx.session() == SessionMiddleware.session(ctx))));
                    });
            HttpResponse<Buffer> response = server.get("/a", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
            assertEquals("b true", response.bodyAsString());
            assertEquals(1, LOADS.get());
        });
        test.completeNow();
    }

    @Test
    void routeWithoutMiddleware_getsAClearError(VertxTestContext test) {
        test.verify(() -> {
            server = TestServer.start(vertx, new SessionConfig().setSecretKey(TestServer.SECRET), router -> {});
            io.vertx.ext.web.Router bare = io.vertx.ext.web.Router.router(vertx);
            bare.get("/").handler(ctx -> {
                try {
                    SessionMiddleware.session(ctx);
                    ctx.end("session");
                } catch (IllegalStateException e) {
                    ctx.end(e.getMessage());
                }
            });
            io.vertx.core.http.HttpServer plain = vertx.createHttpServer()
                    .requestHandler(bare)
                    .listen(0, "127.0.0.1")
                    .await();
            try {
                HttpResponse<Buffer> response = server.client
                        .get(plain.actualPort(), "127.0.0.1", "/")
                        .send()
                        .await();
                assertEquals(
                        "no session on this request: add SessionMiddleware.create(vertx, config) to the router before "
                                + "this route",
                        response.bodyAsString());
            } finally {
                plain.close().await();
            }
        });
        test.completeNow();
    }

    @Test
    void seedStyleBackend_buildsTheRequestsSessionAndOneForItsWrite(VertxTestContext test) {
        test.verify(() -> {
            DOCUMENTS.clear();
            server = TestServer.start(
                    vertx,
                    new SessionConfig().setManager(SessionManagerFactory.of(InstanceCountingStore::new)),
                    router -> {
                        TestServer.counter(router);
                        router.get("/login").handler(ctx -> {
                            SessionMiddleware.session(ctx).regenerate();
                            ctx.end("in");
                        });
                        router.get("/logout").handler(ctx -> {
                            SessionMiddleware.session(ctx).invalidate();
                            ctx.end("out");
                        });
                        router.get("/read")
                                .handler(ctx -> ctx.end(String.valueOf(
                                        SessionMiddleware.session(ctx).get("counter", 0))));
                    });
            INSTANCES.set(0);
            String id = TestServer.sessionCookie(server.get("/"));
            assertEquals(2, INSTANCES.getAndSet(0), "new session: the request's, and one that saves it");
            assertEquals("You've visited this page 2 times", server.get("/", id).bodyAsString());
            assertEquals(2, INSTANCES.getAndSet(0), "the request's (which loads), and one that saves");
            assertEquals("2", server.get("/read", id).bodyAsString());
            assertEquals(1, INSTANCES.getAndSet(0), "nothing to save: the request's session only");
            String moved = TestServer.sessionCookie(server.get("/login", id));
            assertEquals(
                    2, INSTANCES.getAndSet(0), "a move: the request's, and one that looks at the old key and moves");
            assertNull(DOCUMENTS.get(id));
            assertEquals("out", server.get("/logout", moved).bodyAsString());
            assertEquals(1, INSTANCES.getAndSet(0), "a logout deletes through the request's session");
            assertTrue(DOCUMENTS.isEmpty());
        });
        test.completeNow();
    }
}
