package dev.vertxsessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.internal.SessionIds;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Session IDs carried in a header (API and mobile clients), with the cookie's guarantees. */
@ExtendWith(VertxExtension.class)
class SessionIdHeaderTest {

    private static final String HEADER = "X-Auth-Token";
    private final List<TestServer> servers = new ArrayList<>();

    @AfterEach
    void stop() {
        servers.forEach(TestServer::close);
    }

    private TestServer server(Vertx vertx, String transport) {
        TestServer server = TestServer.start(
                vertx, new SessionConfig().setManager("memory").setSessionIdTransport(transport), this::routes);
        servers.add(server);
        return server;
    }

    private void routes(Router router) {
        TestServer.counter(router);
        router.get("/login").handler(ctx -> {
            SessionMiddleware.session(ctx).regenerate();
            SessionMiddleware.session(ctx).put("user", "alice");
            ctx.end("logged in");
        });
        router.get("/logout").handler(ctx -> {
            SessionMiddleware.session(ctx).clear();
            ctx.end("bye");
        });
    }

    private static HttpResponse<Buffer> get(TestServer server, String path, String token, String cookie) {
        var request = server.client.get(path);
        if (token != null) {
            request.putHeader(HEADER, token);
        }
        if (cookie != null) {
            request.putHeader("cookie", "session_id=" + cookie);
        }
        return request.send().await();
    }

    @Test
    void headerTransport_issuesReadsRegeneratesAndEndsTheIdInTheHeader_neverACookie(
            Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            TestServer server = server(vertx, "header");
            HttpResponse<Buffer> first = get(server, "/", null, null);
            String id = first.getHeader(HEADER);
            assertTrue(SessionIds.isWellFormed(id), "a fresh 256-bit ID: " + id);
            assertNull(first.getHeader("set-cookie"));

            assertEquals(
                    "You've visited this page 2 times",
                    get(server, "/", id, null).bodyAsString());

            HttpResponse<Buffer> login = get(server, "/login", id, null);
            String newId = login.getHeader(HEADER);
            assertNotEquals(id, newId, "a login gives a new ID");
            assertEquals(
                    "You've visited this page 1 times",
                    get(server, "/", id, null).bodyAsString(),
                    "old ID dead");
            assertEquals(
                    "You've visited this page 3 times",
                    get(server, "/", newId, null).bodyAsString());

            HttpResponse<Buffer> logout = get(server, "/logout", newId, null);
            assertEquals("", logout.getHeader(HEADER), "a logout answers an empty header");
            assertNull(logout.getHeader("set-cookie"));
            assertEquals(
                    "You've visited this page 1 times",
                    get(server, "/", newId, null).bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void headerTransport_neverAdoptsAClientChosenId_andIgnoresTheCookie(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            TestServer server = server(vertx, "header");
            String chosen = SessionIds.generate();
            HttpResponse<Buffer> forged = get(server, "/", chosen, null);
            assertEquals("You've visited this page 1 times", forged.bodyAsString());
            assertNotEquals(chosen, forged.getHeader(HEADER));

            String real = get(server, "/", null, null).getHeader(HEADER);
            assertEquals(
                    "You've visited this page 1 times",
                    get(server, "/", null, real).bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void bothTransports_preferTheHeader_andAnswerWithBoth(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            TestServer server = server(vertx, "both");
            HttpResponse<Buffer> first = get(server, "/", null, null);
            String viaHeader = first.getHeader(HEADER);
            assertEquals(viaHeader, TestServer.sessionCookie(first));
            String other = get(server, "/", null, null).getHeader(HEADER);
            get(server, "/", other, null);

            assertEquals(
                    "You've visited this page 2 times",
                    get(server, "/", viaHeader, other).bodyAsString());
            assertEquals(
                    "You've visited this page 3 times",
                    get(server, "/", null, other).bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void badTransportOrHeaderName_failNamingTheKey() {
        assertEquals(
                "session_id_transport must be cookie, header or both (got 'url')",
                assertThrows(IllegalArgumentException.class, () -> new SessionConfig().setSessionIdTransport("url"))
                        .getMessage());
        assertEquals(
                "session_id_header must be an HTTP header name such as X-Auth-Token (got 'X Auth')",
                assertThrows(IllegalArgumentException.class, () -> new SessionConfig().setSessionIdHeader("X Auth"))
                        .getMessage());
    }
}
