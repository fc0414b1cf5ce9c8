package dev.vertxsessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Every operation of the seed guide's session table, through real HTTP with the default backend. */
@ExtendWith(VertxExtension.class)
class SessionApiTest {

    public static class Preferences {
        public String theme;
        public int fontSize;
    }

    static TestServer server;

    /** One server for the whole class, on the class's Vert.x instance (closed by the extension after all tests). */
    @BeforeAll
    static void start(Vertx vertx) {
        server = TestServer.start(vertx, new SessionConfig().setSecretKey(TestServer.SECRET), router -> {
            router.get("/fill").handler(TestServer.text(s -> {
                Preferences preferences = new Preferences();
                preferences.theme = "dark";
                preferences.fontSize = 14;
                s.put("user_id", 7)
                        .put("preferences", preferences)
                        .put("temporary_data", "x")
                        .put("big", 1L << 40)
                        .put("ratio", 0.5f)
                        .put("tags", List.of("a", "b"))
                        .put("json", new JsonObject().put("k", "v"));
                return s.isModified() + " " + s.keys();
            }));
            router.get("/read")
                    .handler(TestServer.text(s -> String.join(
                            "|",
                            String.valueOf(s.isModified()),
                            String.valueOf(s.isNew()),
                            String.valueOf(s.<Integer>get("user_id")),
                            String.valueOf(s.get("missing", "default")),
                            String.valueOf(s.get("user_id", 0) + 1),
                            s.get("preferences", Preferences.class).theme + ":"
                                    + s.get("preferences", Preferences.class).fontSize,
                            String.valueOf(s.<Map<String, Object>>get("preferences")),
                            String.valueOf(s.<Long>get("big")),
                            String.valueOf(s.<Double>get("ratio")),
                            String.valueOf(s.<List<String>>get("tags")),
                            String.valueOf(s.<Map<String, Object>>get("json")),
                            String.valueOf(s.containsKey("temporary_data")),
                            String.valueOf(s.containsKey("nope")),
                            String.valueOf(s.items().size()),
                            String.valueOf(s.isEmpty()))));
            router.get("/change").handler(TestServer.text(s -> {
                Object removed = s.remove("temporary_data");
                Object popped = s.pop("tags", List.of());
                Object defaulted = s.pop("nope", "dflt");
                return removed + " " + popped + " " + defaulted + " " + s.keys() + " " + s.isModified();
            }));
            router.get("/unserializable").handler(ctx -> {
                try {
                    SessionMiddleware.session(ctx).put("stream", new Object());
                    ctx.end("stored");
                } catch (IllegalArgumentException e) {
                    ctx.response()
                            .setStatusCode(400)
                            .end(e.getMessage().substring(0, e.getMessage().indexOf(':')));
                }
            });
            router.get("/clear").handler(TestServer.text(s -> {
                s.clear();
                return s.isEmpty() + " " + s.keys();
            }));
            router.get("/null").handler(TestServer.text(s -> {
                s.put("user_id", null);
                return s.containsKey("user_id");
            }));
        });
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void everySeedOperation_behavesLikeTheGuide(VertxTestContext test) {
        test.verify(() -> {
            HttpResponse<Buffer> filled = server.get("/fill");
            assertEquals("true [user_id, preferences, temporary_data, big, ratio, tags, json]", filled.bodyAsString());
            String cookie = TestServer.sessionCookie(filled);

            HttpResponse<Buffer> read = server.get("/read", cookie);
            assertEquals(
                    "false|false|7|default|8|dark:14|{theme=dark, fontSize=14}|1099511627776|0.5|[a, b]|{k=v}|true|false|7|false",
                    read.bodyAsString());
            assertNull(TestServer.setCookie(read, "session_id"), "a read-only request sets no cookie");

            HttpResponse<Buffer> changed = server.get("/change", cookie);
            assertEquals("x [a, b] dflt [user_id, preferences, big, ratio, json] true", changed.bodyAsString());
            cookie = TestServer.sessionCookie(changed);
            assertEquals(
                    "false|false|7|default|8|dark:14|{theme=dark, fontSize=14}|1099511627776|0.5|null|{k=v}|false|false|5|false",
                    server.get("/read", cookie).bodyAsString());

            assertEquals("false", server.get("/null", cookie).bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void unserializableValue_failsAtPut(VertxTestContext test) {
        server.client
                .get("/unserializable")
                .send()
                .onComplete(test.succeeding(response -> test.verify(() -> {
                    assertEquals(400, response.statusCode());
                    assertEquals(
                            "session value for key 'stream' (java.lang.Object) cannot be written as JSON",
                            response.bodyAsString());
                    assertNull(TestServer.setCookie(response, "session_id"));
                    test.completeNow();
                })));
    }

    @Test
    void clear_emptiesTheSessionAndExpiresTheCookie(VertxTestContext test) {
        test.verify(() -> {
            String cookie = TestServer.sessionCookie(server.get("/fill"));
            HttpResponse<Buffer> cleared = server.get("/clear", cookie);
            assertEquals("true []", cleared.bodyAsString());
            String header = TestServer.setCookie(cleared, "session_id");
            assertTrue(header.startsWith("session_id=; Max-Age=0; Expires="), header);
            assertTrue(header.endsWith("; Path=/; HTTPOnly; SameSite=Lax"), header);
        });
        test.completeNow();
    }
}
