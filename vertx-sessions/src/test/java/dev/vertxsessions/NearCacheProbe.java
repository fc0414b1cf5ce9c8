package dev.vertxsessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.HttpResponse;
import java.util.function.BooleanSupplier;

/**
 * What the backend-specific near-cache tests share (the contract itself, for every backend that offers the cache, is
 * the test kit's {@code NearCacheContract}): a counter and a read route, a cookie jar, and waits for a condition.
 */
public final class NearCacheProbe {

    private NearCacheProbe() {}

    /** {@code /counter} (answers once the save is stored) and {@code /read}. */
    public static void routes(Router router) {
        router.get("/counter").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            int next = session.get("counter", 0) + 1;
            session.put("counter", next);
            session.commit().onSuccess(v -> ctx.end(Integer.toString(next))).onFailure(ctx::fail);
        });
        router.get("/read").handler(TestServer.text(s -> s.get("counter", 0)));
    }

    /** Sends requests with one cookie and keeps whatever cookie the responses set. */
    public static final class Jar {
        public String cookie;

        /** Sends {@code GET path}, expects a 200 and returns the body. */
        public String get(TestServer server, String path) {
            return keep(server.get(path, cookie));
        }

        /** Keeps the cookie {@code response} sets, expects a 200 and returns the body. */
        public String keep(HttpResponse<Buffer> response) {
            assertEquals(200, response.statusCode(), response.bodyAsString());
            String set = TestServer.setCookie(response, "session_id");
            if (set != null) {
                cookie = TestServer.cookieValue(set);
            }
            return response.bodyAsString();
        }

        /** Returns the session's ID. */
        public String id() {
            return cookie.substring(0, 43);
        }
    }

    /** Waits (at most 30 s) until {@code condition} holds. */
    public static void await(String what, BooleanSupplier condition) throws InterruptedException {
        for (int i = 0; i < 3000 && !condition.getAsBoolean(); i++) {
            Thread.sleep(10);
        }
        assertTrue(condition.getAsBoolean(), what);
    }

    /** Reads {@code /read} until {@code server} answers from its cache, always with {@code expected}. */
    public static void awaitHit(TestServer server, Jar jar, String expected) throws InterruptedException {
        SessionMetrics metrics = server.middleware.metrics();
        long before = metrics.nearCacheHits();
        await("the near cache never answered", () -> {
            assertEquals(expected, jar.get(server, "/read"));
            return metrics.nearCacheHits() > before;
        });
    }
}
