package dev.vertxsessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.time.Instant;
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

    @Test
    void persistentCookieOfAServerSideSession_isRenewedOncePerStepOfItsExpiry(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            MutableClock clock = new MutableClock(Instant.parse("2026-12-08T00:00:00Z"));
            TestServer memory = TestServer.start(
                    vertx, new SessionConfig().setManager("memory").setClock(clock), SessionRoutes::install);
            try {
                HttpResponse<Buffer> first = memory.get("/");
                String id = TestServer.sessionCookie(first);
                assertPersistentCookie(id, 86400, TestServer.setCookie(first, "session_id"));
                clock.advance(Duration.ofSeconds(59));
                HttpResponse<Buffer> sameMinute = memory.get("/", id);
                assertEquals("You've visited this page 2 times", sameMinute.bodyAsString());
                assertEquals(List.of(), TestServer.setCookies(sameMinute), "the expiry moved within its minute");
                assertEquals("private", sameMinute.getHeader("cache-control"), "a response to a session's request");

                clock.advance(Duration.ofSeconds(1));
                HttpResponse<Buffer> nextMinute = memory.get("/", id);
                assertPersistentCookie(id, 86400, TestServer.setCookie(nextMinute, "session_id"));
                assertEquals(List.of(), TestServer.setCookies(memory.get("/", id)), "renewed: not again");

                HttpResponse<Buffer> shorter = memory.get("/short", id); // a per-session expiry of 30 minutes
                assertPersistentCookie(id, 1800, TestServer.setCookie(shorter, "session_id"));
                // The step is a hundredth of 30 minutes, 18 s; the expiry, 00:31:00, is in the step [00:30:54,
                // 00:31:12).
                clock.advance(Duration.ofSeconds(11));
                assertEquals(List.of(), TestServer.setCookies(memory.get("/", id)));
                clock.advance(Duration.ofSeconds(1));
                assertPersistentCookie(id, 1800, TestServer.setCookie(memory.get("/", id), "session_id"));

                clock.advance(Duration.ofSeconds(1799)); // idle until one second before its expiry: still there
                assertEquals("6", memory.get("/peek", id).bodyAsString());
            } finally {
                memory.close();
            }
        });
        test.completeNow();
    }

    /** Asserts a persistent cookie of {@code id}; its Expires date is the browser's: real time plus Max-Age. */
    private static void assertPersistentCookie(String id, long maxAgeSeconds, String header) {
        assertTrue(
                header.matches("session_id=" + id + "; Max-Age=" + maxAgeSeconds
                        + "; Expires=[A-Z][a-z]{2}, \\d{2} [A-Z][a-z]{2} \\d{4} \\d{2}:\\d{2}:\\d{2} GMT; Path=/; HTTPOnly; "
                        + "SameSite=Lax"),
                header);
    }
}
