package dev.vertxsessions.micrometer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.TestServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The middleware's meters in a real Micrometer registry, driven over HTTP. */
@ExtendWith(VertxExtension.class)
class SessionMetersTest {

    @Test
    void memoryBackend_hasCountersTimersAndAnActiveSessionsGauge(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            TestServer server = TestServer.start(vertx, new SessionConfig().setManager("memory"), TestServer::counter);
            try {
                SimpleMeterRegistry registry = new SimpleMeterRegistry();
                SessionMeters.bind(server.middleware, registry);
                String cookie = TestServer.sessionCookie(server.get("/"));
                server.get("/");
                server.get("/", cookie);

                assertEquals(
                        3.0,
                        registry.get("vertx.sessions.saves")
                                .tag("backend", "memory")
                                .functionCounter()
                                .count());
                assertEquals(
                        1.0,
                        registry.get("vertx.sessions.loads").functionCounter().count());
                assertEquals(
                        2.0,
                        registry.get("vertx.sessions.active")
                                .tag("backend", "memory")
                                .gauge()
                                .value());
                assertEquals(
                        3,
                        registry.get("vertx.sessions.backend.calls")
                                .tags("operation", "save", "outcome", "success")
                                .timer()
                                .count());
            } finally {
                server.close();
            }
        });
        test.completeNow();
    }

    @Test
    void signedCookies_haveNoActiveSessionsGauge(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            TestServer server =
                    TestServer.start(vertx, new SessionConfig().setSecretKey(TestServer.SECRET), TestServer::counter);
            try {
                SimpleMeterRegistry registry = new SimpleMeterRegistry();
                SessionMeters.bind(server.middleware, registry);
                assertNull(registry.find("vertx.sessions.active").gauge());
                assertEquals(
                        0.0,
                        registry.get("vertx.sessions.saves").functionCounter().count());
            } finally {
                server.close();
            }
        });
        test.completeNow();
    }
}
