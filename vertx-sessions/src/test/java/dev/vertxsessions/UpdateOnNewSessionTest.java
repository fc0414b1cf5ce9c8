package dev.vertxsessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.vertxsessions.file.FileSessionInterface;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** An atomic update on a request without a session cookie must send the cookie of the session it created. */
@ExtendWith(VertxExtension.class)
class UpdateOnNewSessionTest {

    @TempDir
    Path dir;

    Vertx vertx;

    @BeforeEach
    void setUp(Vertx vertx) {
        this.vertx = vertx;
    }

    @Test
    void incrementOnNewFileSession_setsCookieAndStoresOneFile(VertxTestContext test) {
        test.verify(() -> {
            SessionConfig config = new SessionConfig().setBackend(FileSessionInterface.factory(dir, "session_"));
            try (TestServer server = TestServer.start(
                    vertx,
                    config,
                    router -> router.get("/")
                            .handler(ctx -> SessionMiddleware.session(ctx)
                                    .increment("counter")
                                    .onSuccess(count -> ctx.response().end(String.valueOf(count)))
                                    .onFailure(ctx::fail)))) {
                HttpResponse<Buffer> first = server.client.get("/").send().await();
                assertEquals("1", first.bodyAsString());
                String setCookie = TestServer.setCookie(first, "session_id");
                assertNotNull(setCookie, "no cookie for the session the update created");
                HttpResponse<Buffer> second = server.client
                        .get("/")
                        .putHeader("cookie", "session_id=" + TestServer.cookieValue(setCookie))
                        .send()
                        .await();
                assertEquals("2", second.bodyAsString());
                try (Stream<Path> files = Files.list(dir)) {
                    assertEquals(
                            1,
                            files.filter(file -> file.getFileName().toString().startsWith("session_"))
                                    .count());
                }
            }
        });
        test.completeNow();
    }

    @Test
    void updateToNull_removesTheKeyFromTheSession(VertxTestContext test) {
        test.verify(() -> {
            SessionConfig config = new SessionConfig().setBackend(FileSessionInterface.factory(dir, "session_"));
            try (TestServer server = TestServer.start(
                    vertx,
                    config,
                    router -> router.get("/").handler(ctx -> {
                        BaseSessionInterface session = SessionMiddleware.session(ctx);
                        session.put("keep", 1);
                        session.update("gone", value -> null)
                                .onSuccess(
                                        value -> ctx.response().end(session.containsKey("gone") + " " + session.keys()))
                                .onFailure(ctx::fail);
                    }))) {
                assertEquals(
                        "false [keep]", server.client.get("/").send().await().bodyAsString());
            }
        });
        test.completeNow();
    }
}
