package dev.vertxsessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** How the session cookie is found among a request's cookies and written into a response. */
@ExtendWith(VertxExtension.class)
class SessionCookieTest {

    private TestServer server;

    @BeforeEach
    void start(Vertx vertx) {
        server = TestServer.start(vertx, new SessionConfig().setSecretKey(TestServer.SECRET), router -> {
            SessionRoutes.install(router);
            router.get("/commit-then-change").handler(ctx -> {
                BaseSessionInterface session = SessionMiddleware.session(ctx);
                session.put("counter", 10);
                session.commit()
                        .onSuccess(v -> {
                            session.put("counter", 11);
                            ctx.end("changed after commit");
                        })
                        .onFailure(ctx::fail);
            });
        });
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private String peek(List<String> cookieHeaders) {
        HttpResponse<Buffer> response = server.client
                .get("/peek")
                .putHeader("cookie", cookieHeaders)
                .send()
                .await();
        assertEquals(200, response.statusCode());
        return response.bodyAsString();
    }

    @Test
    void sessionCookie_isFoundAmongOthers_quoted_orInASecondHeader_andLookalikeNamesAreIgnored(VertxTestContext test) {
        test.verify(() -> {
            String value = TestServer.sessionCookie(server.get("/"));
            assertEquals("1", peek(List.of("session_id=" + value)));
            assertEquals("1", peek(List.of("theme=dark; session_id=" + value + "; lang=en")));
            assertEquals("1", peek(List.of("theme=dark;session_id=" + value + " ")));
            assertEquals("1", peek(List.of("session_id=\"" + value + "\"")));
            assertEquals("1", peek(List.of("theme=dark, session_id=" + value)));
            assertEquals("1", peek(List.of("theme=dark", "session_id=" + value)));
            assertEquals("1", peek(List.of("session_id=" + value + "; session_id=forged")), "the first one counts");
            assertEquals("0", peek(List.of("xsession_id=" + value)));
            assertEquals("0", peek(List.of("session_id2=" + value)));
            assertEquals("0", peek(List.of("SESSION_ID=" + value)), "names are case-sensitive");
            assertEquals("0", peek(List.of("session_id=forged; session_id=" + value)));
            assertEquals(0, server.middleware.metrics().loadFailures());
        });
        test.completeNow();
    }

    @Test
    void setCookie_hasMaxAgeAndAMatchingExpiresDate_inTheUsualLayout(VertxTestContext test) {
        test.verify(() -> {
            HttpResponse<Buffer> response = server.get("/");
            String header = TestServer.setCookie(response, "session_id");
            Matcher m = Pattern.compile("session_id=[A-Za-z0-9_.-]+; Max-Age=86400; Expires=([^;]+); Path=/; HTTPOnly; "
                            + "SameSite=Lax")
                    .matcher(header);
            assertTrue(m.matches(), header);
            ZonedDateTime expires = ZonedDateTime.parse(
                    m.group(1),
                    DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US)
                            .withZone(ZoneOffset.UTC));
            long inSeconds = expires.toEpochSecond() - System.currentTimeMillis() / 1000;
            assertTrue(inSeconds >= 86_398 && inSeconds <= 86_400, header);
        });
        test.completeNow();
    }

    @Test
    void cookieSetByCommit_isReplaced_whenTheSessionChangesAgain(VertxTestContext test) {
        test.verify(() -> {
            HttpResponse<Buffer> response = server.get("/commit-then-change");
            assertEquals("changed after commit", response.bodyAsString());
            List<String> cookies = TestServer.setCookies(response);
            assertEquals(1, cookies.size(), cookies.toString());
            assertEquals(
                    "11",
                    server.get("/peek", TestServer.sessionCookie(response)).bodyAsString());
        });
        test.completeNow();
    }
}
