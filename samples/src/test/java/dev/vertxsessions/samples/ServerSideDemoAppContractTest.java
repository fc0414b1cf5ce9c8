package dev.vertxsessions.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxTestContext;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The demo's contract for backends that keep sessions on the server and update them atomically (file, Redis):
 * parallel requests of one browser lose no update.
 */
abstract class ServerSideDemoAppContractTest extends DemoAppContractTest {

    static final int PARALLEL = 50;

    @Override
    boolean storesSessionsOnServer() {
        return true;
    }

    @Test
    void parallelVisits_ofOneBrowser_eachCountOnce(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            browser.get("/session-demo"); // the session exists before the parallel requests start
            List<Future<HttpResponse<Buffer>>> visits = new ArrayList<>();
            for (int i = 0; i < PARALLEL; i++) {
                visits.add(browser.getAsync("/"));
            }
            Future.all(visits).await();
            Set<String> bodies = new HashSet<>();
            Set<String> expected = new HashSet<>();
            for (int i = 0; i < PARALLEL; i++) {
                bodies.add(text(visits.get(i).result()));
                expected.add("You've visited this page " + (i + 1) + " times");
            }
            assertEquals(expected, bodies);
            assertEquals("You've visited this page " + (PARALLEL + 1) + " times", text(browser.get("/")));
        });
        test.completeNow();
    }

    @Test
    void parallelCartAdds_ofOneBrowser_eachCount(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            browser.get("/session-demo");
            List<Future<HttpResponse<Buffer>>> adds = new ArrayList<>();
            for (int i = 0; i < PARALLEL; i++) {
                adds.add(browser.postAsync("/cart/add/p1"));
            }
            Future.all(adds).await();
            Set<Integer> quantities = new HashSet<>();
            Set<Integer> expected = new HashSet<>();
            for (int i = 0; i < PARALLEL; i++) {
                HttpResponse<Buffer> response = adds.get(i).result();
                assertEquals(200, response.statusCode(), response::bodyAsString);
                quantities.add(response.bodyAsJsonObject()
                        .getJsonObject("cart")
                        .getJsonObject("p1")
                        .getInteger("quantity"));
                expected.add(i + 1);
            }
            assertEquals(expected, quantities);
            assertJson(
                    200,
                    new JsonObject()
                            .put("items", new JsonObject().put("p1", item("Vert.x mug", 12.5, PARALLEL)))
                            .put("total", 12.5 * PARALLEL),
                    browser.get("/cart"));
        });
        test.completeNow();
    }
}
