package dev.vertxsessions.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The demo started with METRICS=prometheus: GET /metrics shows the sessions' meters beside Vert.x's own. */
@ExtendWith(VertxExtension.class)
class DemoMetricsTest {

    @Test
    void metricsEndpoint_showsSessionCountersAndBackendTimers_besideVertxHttpMetrics(VertxTestContext test) {
        test.verify(() -> {
            DemoSettings settings = DemoSettings.fromEnv(Map.of("METRICS", "prometheus"));
            Vertx vertx = DemoApp.vertx(settings); // as DemoApp.main builds it
            try {
                DemoApp app =
                        DemoApp.start(vertx, settings.sessionConfig(), 0, 1).await();
                WebClient client = WebClient.create(vertx);
                HttpResponse<?> first =
                        client.get(app.port(), "127.0.0.1", "/").send().await();
                String cookie = first.cookies().get(0).split(";", 2)[0];
                assertEquals(
                        200,
                        client.get(app.port(), "127.0.0.1", "/")
                                .putHeader("cookie", cookie)
                                .send()
                                .await()
                                .statusCode());

                HttpResponse<?> metrics =
                        client.get(app.port(), "127.0.0.1", "/metrics").send().await();
                String body = metrics.bodyAsString();
                assertEquals(200, metrics.statusCode());
                assertTrue(body.contains("\nvertx_sessions_saves_total{backend=\"signed\"} 2.0\n"), body);
                assertTrue(body.contains("\nvertx_sessions_loads_total{backend=\"signed\"} 1.0\n"), body);
                assertTrue(body.contains("\nvertx_sessions_tampered_cookies_total{backend=\"signed\"} 0.0\n"), body);
                assertTrue(
                        body.contains(
                                "\nvertx_sessions_backend_calls_seconds_count{backend=\"signed\",operation=\"load\","
                                        + "outcome=\"success\"} 1\n"),
                        body);
                assertTrue(body.contains("\nvertx_http_server_requests_total{"), "Vert.x's own HTTP meters: " + body);
                client.close();
            } finally {
                vertx.close().await();
            }
        });
        test.completeNow();
    }
}
