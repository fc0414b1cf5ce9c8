package dev.vertxsessions.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.TestServer;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What README's Redis eviction advice promises, on a real redis-server with a small {@code maxmemory} and
 * {@code maxmemory-policy volatile-ttl}: a flood of anonymous sessions makes Redis evict anonymous sessions only;
 * every logged-in session survives, and logins succeed throughout. It works because an anonymous session's key
 * lives {@code anonymous_expiry} and a promoted session's key lives {@code anonymous_expiry} longer than its expiry.
 */
@ExtendWith(VertxExtension.class)
class RedisEvictionTest {

    @RegisterExtension
    static RedisServerExtension redis = new RedisServerExtension();

    private static final String PADDING = "p".repeat(2048);
    private static final int MEMBERS = 50;
    private static final int FLOOD = 3000;

    TestServer server;

    @BeforeEach
    void start(Vertx vertx) throws IOException {
        redis.command("CONFIG", "SET", "maxmemory", "0");
        redis.command("CONFIG", "SET", "maxmemory-policy", "volatile-ttl");
        SessionConfig config = new SessionConfig()
                .setExpiry(Duration.ofSeconds(600))
                .setAnonymousExpiry(Duration.ofSeconds(60))
                .setBackend(RedisSessionInterface.factory(new RedisSessionOptions().setUrl(redis.url())));
        server = TestServer.start(vertx, config, RedisEvictionTest::routes);
    }

    @AfterEach
    void stop() throws IOException {
        server.close();
        redis.command("CONFIG", "SET", "maxmemory", "0");
    }

    static void routes(Router router) {
        router.get("/visit").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            session.put("padding", PADDING);
            TestServer.endAfterCommit(ctx, session, "visit");
        });
        router.post("/login").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            session.regenerate().put("user", "member").put("padding", PADDING);
            TestServer.endAfterCommit(ctx, session, "welcome");
        });
        router.post("/login-ending").handler(ctx -> {
            // Stands for a member in the last 30 s of its idle lifetime: its key expires before any anonymous one's
            // would, but for the anonymous_expiry added to promoted keys.
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            session.regenerate()
                    .setExpiry(Duration.ofSeconds(30))
                    .put("user", "member")
                    .put("padding", PADDING);
            TestServer.endAfterCommit(ctx, session, "welcome");
        });
        router.get("/whoami").handler(TestServer.text(s -> s.get("user", "anonymous")));
    }

    private String login(String cookie) {
        return login("/login", cookie);
    }

    private String login(String path, String cookie) {
        HttpResponse<Buffer> response =
                server.send(HttpMethod.POST, path, cookie == null ? null : "session_id=" + cookie);
        assertEquals(200, response.statusCode(), response.bodyAsString());
        return TestServer.sessionCookie(response);
    }

    private long info(String section, String field) throws IOException {
        String info = String.valueOf(redis.command("INFO", section));
        Matcher value = Pattern.compile(field + ":(\\d+)").matcher(info);
        assertTrue(value.find(), field + " in INFO " + section);
        return Long.parseLong(value.group(1));
    }

    @Test
    void anonymousFlood_underVolatileTtl_evictsOnlyAnonymousSessions_andLoginsSucceed(VertxTestContext test) {
        test.verify(() -> {
            List<String> members = new ArrayList<>();
            for (int i = 0; i < MEMBERS; i++) {
                members.add(login(i % 5 == 0 ? "/login-ending" : "/login", null));
            }
            // Room for the members and about 500 anonymous sessions; the flood brings six times as many.
            long limit = info("memory", "used_memory") + 2 * 1024 * 1024;
            redis.command("CONFIG", "SET", "maxmemory", Long.toString(limit));

            int refused = 0;
            List<String> loginsDuringFlood = new ArrayList<>();
            for (int batch = 0; batch < FLOOD / 100; batch++) {
                List<Future<HttpResponse<Buffer>>> visits = new ArrayList<>();
                for (int i = 0; i < 100; i++) {
                    visits.add(server.client.get("/visit").send());
                }
                for (Future<HttpResponse<Buffer>> visit : visits) {
                    refused += visit.await().statusCode() == 200 ? 0 : 1;
                }
                if (batch % 5 == 4) {
                    HttpResponse<Buffer> anonymous = server.get("/visit");
                    loginsDuringFlood.add(login(TestServer.sessionCookie(anonymous)));
                }
            }

            assertEquals(0, refused, "no write refused: Redis evicted instead");
            long evicted = info("stats", "evicted_keys");
            assertTrue(evicted > FLOOD / 2, "Redis evicted " + evicted + " keys");
            assertTrue(info("memory", "used_memory") <= limit + 256 * 1024, "used_memory stays near maxmemory");
            for (String member : members) {
                assertEquals("member", server.get("/whoami", member).bodyAsString(), "a member was evicted");
            }
            for (String member : loginsDuringFlood) {
                assertEquals("member", server.get("/whoami", member).bodyAsString(), "a new login was evicted");
            }
            long storedSessions = ((List<?>) redis.command("KEYS", "session:*")).size();
            assertTrue(storedSessions < FLOOD / 2, "the store holds " + storedSessions + " sessions");
        });
        test.completeNow();
    }
}
