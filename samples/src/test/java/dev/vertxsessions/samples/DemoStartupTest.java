package dev.vertxsessions.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.vertxsessions.SessionStoreUnavailableException;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetServer;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The demo refuses to start while its session store cannot be reached, instead of answering 503 on every page. */
@ExtendWith(VertxExtension.class)
class DemoStartupTest {

    @Test
    void unreachableRedis_failsTheStartUp_withTheReason(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            // A port that was just free and is now closed: connecting to it is refused.
            NetServer probe = vertx.createNetServer().connectHandler(socket -> {});
            int closedPort = probe.listen(0, "127.0.0.1").await().actualPort();
            probe.close().await();
            DemoSettings settings = DemoSettings.fromEnv(
                    Map.of("SESSION_BACKEND", "redis", "REDIS_URL", "redis://127.0.0.1:" + closedPort));

            Throwable failure = assertThrows(
                    Throwable.class,
                    () -> DemoApp.start(vertx, settings.sessionConfig(), 0, 1).await());

            assertInstanceOf(SessionStoreUnavailableException.class, failure);
            assertEquals(
                    "Redis could not be reached to answer a PING",
                    failure.getMessage().substring(0, failure.getMessage().indexOf(':')));
        });
        test.completeNow();
    }
}
