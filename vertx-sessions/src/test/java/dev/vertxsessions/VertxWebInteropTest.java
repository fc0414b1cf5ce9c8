package dev.vertxsessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.vertxsessions.file.FileSessionInterface;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.auth.User;
import io.vertx.ext.auth.authentication.UsernamePasswordCredentials;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.handler.BasicAuthHandler;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.CSRFHandler;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Vert.x-Web's own handlers (CSRF, authentication) work on top of our session through ctx.session(). */
@ExtendWith(VertxExtension.class)
class VertxWebInteropTest {

    @TempDir
    Path dir;

    Vertx vertx;
    TestServer server;

    @BeforeEach
    void start(Vertx vertx) {
        this.vertx = vertx;
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    void start(String backend) {
        SessionConfig config = new SessionConfig().setSecretKey(TestServer.SECRET);
        if (backend.equals("file")) {
            config.setBackend(FileSessionInterface.factory(dir, "session_"));
        }
        server = TestServer.start(vertx, config, router -> {
            router.get("/same")
                    .handler(ctx -> ctx.end(String.valueOf(ctx.session() == SessionMiddleware.session(ctx))));
            router.route().handler(BodyHandler.create()); // after the session: our load pauses the request meanwhile
            router.route("/csrf/*").handler(CSRFHandler.create(vertx, TestServer.SECRET));
            router.get("/csrf/form").handler(ctx -> ctx.end("form"));
            router.post("/csrf/submit").handler(ctx -> ctx.end("accepted"));
            router.route("/private/*").handler(BasicAuthHandler.create(credentials -> {
                UsernamePasswordCredentials login = (UsernamePasswordCredentials) credentials;
                return "alice".equals(login.getUsername()) && "wonderland".equals(login.getPassword())
                        ? Future.succeededFuture(User.fromName("alice"))
                        : Future.failedFuture("invalid credentials");
            }));
            router.get("/private/me")
                    .handler(ctx ->
                            ctx.end(ctx.user().subject() + " " + ctx.session().id()));
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"signed", "file"})
    void ctxSession_isTheSameObject(String backend, VertxTestContext test) {
        start(backend);
        server.client
                .get("/same")
                .send()
                .onComplete(test.succeeding(same -> test.verify(() -> {
                    assertEquals("true", same.bodyAsString());
                    test.completeNow();
                })));
    }

    @ParameterizedTest
    @ValueSource(strings = {"signed", "file"})
    void csrfHandler_storesItsTokenInOurSession(String backend, VertxTestContext test) {
        test.verify(() -> {
            start(backend);
            HttpResponse<Buffer> form = server.get("/csrf/form");
            assertEquals(200, form.statusCode());
            String token = TestServer.cookieValue(TestServer.setCookie(form, "XSRF-TOKEN"));
            String session = TestServer.sessionCookie(form);
            String cookies = "session_id=" + session + "; XSRF-TOKEN=" + token;

            HttpResponse<Buffer> accepted = server.client
                    .post("/csrf/submit")
                    .putHeader("cookie", cookies)
                    .putHeader("X-XSRF-TOKEN", token)
                    .send()
                    .await();
            assertEquals(200, accepted.statusCode());
            assertEquals("accepted", accepted.bodyAsString());

            HttpResponse<Buffer> refused = server.client
                    .post("/csrf/submit")
                    .putHeader("cookie", cookies)
                    .send()
                    .await();
            assertEquals(403, refused.statusCode());

            HttpResponse<Buffer> otherSession = server.client
                    .post("/csrf/submit")
                    .putHeader("cookie", "XSRF-TOKEN=" + token)
                    .putHeader("X-XSRF-TOKEN", token)
                    .send()
                    .await();
            assertEquals(403, otherSession.statusCode(), "a token is bound to its session");
        });
        test.completeNow();
    }

    @ParameterizedTest
    @ValueSource(strings = {"signed", "file"})
    void vertxWebLogin_regeneratesTheSessionAndTheUserSurvives(String backend, VertxTestContext test) {
        test.verify(() -> {
            start(backend);
            String anonymous = TestServer.sessionCookie(server.get("/csrf/form"));
            String anonymousId = server.get("/private/me", null).statusCode() == 401 ? anonymous : null;
            assertNotNull(anonymousId);

            String basic =
                    "Basic " + Base64.getEncoder().encodeToString("alice:wonderland".getBytes(StandardCharsets.UTF_8));
            HttpResponse<Buffer> login = server.client
                    .request(HttpMethod.GET, "/private/me")
                    .putHeader("authorization", basic)
                    .putHeader("cookie", "session_id=" + anonymous)
                    .send()
                    .await();
            assertEquals(200, login.statusCode());
            String loggedIn = TestServer.sessionCookie(login);
            assertNotEquals(anonymous, loggedIn, "login regenerated the session");
            String id = login.bodyAsString().substring("alice ".length());

            HttpResponse<Buffer> again = server.get("/private/me", loggedIn);
            assertEquals(200, again.statusCode(), "the user is restored from the session, no credentials sent");
            assertEquals("alice " + id, again.bodyAsString());
            assertNull(TestServer.setCookie(again, "session_id"), "restoring the user writes nothing");

            assertEquals(401, server.get("/private/me", anonymous).statusCode(), "the pre-login session is dead");
        });
        test.completeNow();
    }
}
