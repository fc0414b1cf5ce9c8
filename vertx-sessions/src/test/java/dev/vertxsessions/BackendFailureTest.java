package dev.vertxsessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.memory.MemorySessionBackend;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What a failing or hanging backend does to a request: never a 2xx that pretends the data was stored, never a
 * cookie for a session that was not stored, never a hang; and a backend that cannot start fails the start-up.
 */
@ExtendWith(VertxExtension.class)
class BackendFailureTest {

    /**
     * The in-memory backend with a switch: while {@code broken}, saves fail as an unreachable store does, or never
     * complete while {@code hanging}.
     */
    static class SwitchableBackend implements SessionBackend {
        final SessionBackend store;
        final AtomicBoolean broken = new AtomicBoolean();
        final AtomicBoolean hanging = new AtomicBoolean();
        /** Saves fail 100 ms after they start: after their response went out. */
        final AtomicBoolean failingLater = new AtomicBoolean();

        final Vertx vertx;

        SwitchableBackend(Vertx vertx, SessionConfig config) {
            this.vertx = vertx;
            store = MemorySessionBackend.factory(100).create(vertx, config);
        }

        @Override
        public Set<Capability> capabilities() {
            return store.capabilities();
        }

        @Override
        public Future<SessionRecord> load(String id) {
            return store.load(id);
        }

        @Override
        public Future<Boolean> save(SessionChanges changes) {
            if (hanging.get()) {
                return Promise.<Boolean>promise().future();
            }
            if (failingLater.get()) {
                return vertx.timer(100)
                        .compose(x -> Future.failedFuture(new SessionStoreUnavailableException("store down", null)));
            }
            return broken.get()
                    ? Future.failedFuture(new SessionStoreUnavailableException("store down", null))
                    : store.save(changes);
        }

        @Override
        public Future<Void> delete(String id) {
            return store.delete(id);
        }

        @Override
        public Future<Void> start(BackendRecorder recorder) {
            return store.start(recorder);
        }
    }

    TestServer server;
    SwitchableBackend backend;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private void start(Vertx vertx, SessionConfig config) {
        server = TestServer.start(vertx, config.setBackend((v, c) -> backend = new SwitchableBackend(v, c)), router -> {
            router.get("/put").handler(ctx -> {
                SessionMiddleware.session(ctx).put("cart", ctx.request().getParam("v"));
                ctx.end("ok");
            });
            router.get("/login").handler(ctx -> {
                BaseSessionInterface session = SessionMiddleware.session(ctx).regenerate();
                session.put("user", "alice");
                session.commit().onComplete(ar -> {
                    if (ar.failed()) {
                        ctx.response().setStatusCode(503).end("store down");
                    } else {
                        ctx.end("welcome");
                    }
                });
            });
            router.get("/login-later").handler(ctx -> {
                SessionMiddleware.session(ctx).regenerate().put("user", "alice");
                ctx.end("welcome");
            });
            router.get("/cart").handler(TestServer.text(session -> session.get("cart")));
            router.get("/cached").handler(ctx -> {
                SessionMiddleware.session(ctx).get("cart");
                ctx.response().putHeader("cache-control", "public, max-age=60").end("mine");
            });
            router.get("/static").handler(ctx -> ctx.end("static"));
        });
    }

    @Test
    void failedCommitAtLogin_answersWithoutACookie_andTheBrowserKeepsItsCart(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            start(vertx, new SessionConfig());
            String cookie = TestServer.sessionCookie(server.get("/put?v=mug"));
            backend.broken.set(true);
            HttpResponse<Buffer> login = server.get("/login", cookie);
            assertEquals(503, login.statusCode());
            assertEquals(List.of(), TestServer.setCookies(login), "no cookie for the session that was not stored");
            backend.broken.set(false);
            assertEquals("mug", server.get("/cart", cookie).bodyAsString(), "the previous session is still there");
            assertEquals(1L, server.middleware.metrics().saveFailures());
        });
        test.completeNow();
    }

    @Test
    void regenerateWhoseSaveFailsAfterTheResponse_losesNoPreLoginData(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            start(vertx, new SessionConfig().setCookiePersistent(false));
            String cookie = TestServer.sessionCookie(server.get("/put?v=mug"));
            backend.failingLater.set(true);
            HttpResponse<Buffer> login = server.get("/login-later", cookie);
            assertEquals(200, login.statusCode(), "the response went out before the save failed");
            String moved = TestServer.sessionCookie(login);
            for (int i = 0; i < 500 && server.middleware.metrics().saveFailures() == 0; i++) {
                Thread.sleep(10); // the save fails 100 ms after it started
            }
            backend.failingLater.set(false);
            HttpResponse<Buffer> next = server.get("/cart", moved);
            assertEquals("mug", next.bodyAsString(), "the pre-login session, found where the failed move left it");
            assertEquals(cookie, TestServer.sessionCookie(next), "the browser gets the cookie of that session back");
            assertEquals("mug", server.get("/cart", cookie).bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void failedSaveBeforeTheHeaders_answers503WithoutACookie(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            start(vertx, new SessionConfig());
            backend.broken.set(true);
            HttpResponse<Buffer> response = server.get("/put?v=mug");
            assertEquals(503, response.statusCode());
            assertNull(TestServer.setCookie(response, "session_id"));
        });
        test.completeNow();
    }

    @Test
    void hangingSave_isCutByTheBackendTimeout_andReleasesItsWriteSlot(Vertx vertx, VertxTestContext test) {
        start(vertx, new SessionConfig().setBackendTimeout(Duration.ofMillis(300)));
        String cookie = TestServer.sessionCookie(server.get("/put?v=mug"));
        backend.hanging.set(true);
        long started = System.nanoTime();
        HttpResponse<Buffer> login = server.get("/login", cookie);
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        assertEquals(503, login.statusCode());
        assertTrue(millis >= 300 && millis < 5000, millis + " ms");
        assertEquals(List.of(), TestServer.setCookies(login));
        backend.hanging.set(false);
        // Saves after the response that hang still end: the middleware counts their failure.
        backend.hanging.set(true);
        assertEquals(200, server.get("/put?v=cup", cookie).statusCode());
        vertx.setTimer(
                600,
                id -> test.verify(() -> {
                    assertEquals(2L, server.middleware.metrics().saveFailures());
                    test.completeNow();
                }));
    }

    @Test
    void backendThatCannotStart_failsTheStartUpWithItsCause_andRequestsGet503(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            SessionConfig config = new SessionConfig().setBackend((v, c) -> new SwitchableBackend(v, c) {
                @Override
                public Future<Void> start(BackendRecorder recorder) {
                    return Future.failedFuture(new IllegalStateException("schema could not be created"));
                }
            });
            Throwable failure = SessionMiddleware.start(vertx, config)
                    .transform(ar -> Future.succeededFuture(ar.cause()))
                    .await();
            assertEquals("schema could not be created", failure.getMessage());
            server = TestServer.start(vertx, config, router -> router.get("/").handler(ctx -> ctx.end("unreachable")));
            assertEquals(503, server.get("/").statusCode());
        });
        test.completeNow();
    }

    @Test
    void slowStart_isAwaitedBeforeTheFirstRequest(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            Promise<Void> started = Promise.promise();
            server = TestServer.start(
                    vertx,
                    new SessionConfig().setBackend((v, c) -> new SwitchableBackend(v, c) {
                        @Override
                        public Future<Void> start(BackendRecorder recorder) {
                            return super.start(recorder).compose(x -> started.future());
                        }
                    }),
                    router -> router.get("/")
                            .handler(TestServer.text(
                                    session -> session.put("a", 1).keys())));
            Future<HttpResponse<Buffer>> waiting = server.client.get("/").send();
            vertx.setTimer(200, id -> started.complete());
            HttpResponse<Buffer> response = waiting.await();
            assertEquals(200, response.statusCode());
            assertEquals("[a]", response.bodyAsString());
            assertTrue(server.middleware.ready().succeeded());
        });
        test.completeNow();
    }

    @Test
    void responsesThatCarrySessionData_areKeptOutOfSharedCaches(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            start(vertx, new SessionConfig());
            HttpResponse<Buffer> created = server.get("/put?v=mug");
            assertEquals("private", created.getHeader("cache-control"), "a response that sets the session cookie");
            String cookie = TestServer.sessionCookie(created);
            assertEquals(
                    "private", server.get("/cart", cookie).getHeader("cache-control"), "a request that had a session");
            assertEquals(
                    "public, max-age=60",
                    server.get("/cached", cookie).getHeader("cache-control"),
                    "a route's own choice stays");
            assertNull(server.get("/static").getHeader("cache-control"), "no session, nothing to hide");
            server.close();

            start(vertx, new SessionConfig().setCacheControl("no-store"));
            assertEquals("no-store", server.get("/put?v=mug").getHeader("cache-control"));
            server.close();
            start(vertx, new SessionConfig().setCacheControl("off"));
            assertNull(server.get("/put?v=mug").getHeader("cache-control"));
        });
        test.completeNow();
    }
}
