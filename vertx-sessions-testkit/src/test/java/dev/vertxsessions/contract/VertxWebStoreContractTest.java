package dev.vertxsessions.contract;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.testkit.BackendContract;
import dev.vertxsessions.testkit.BackendSpiContract;
import dev.vertxsessions.vertxweb.VertxWebStoreBackend;
import io.vertx.ext.web.sstore.LocalSessionStore;
import java.time.Clock;
import org.junit.jupiter.api.Nested;

/**
 * The backend contract for Vert.x-Web's LocalSessionStore behind the middleware: a whole-session store without
 * atomic update or per-key merge (the capabilities say so), in one process.
 */
class VertxWebStoreContractTest extends BackendContract {

    @Override
    protected SessionConfig config(Clock clock) {
        return new SessionConfig()
                .setBackend(VertxWebStoreBackend.factory(
                        vertx -> LocalSessionStore.create(vertx, "contract-" + System.nanoTime())));
    }

    /** The SPI-level contract on the same backend, configured the same way. */
    @Nested
    class Spi extends BackendSpiContract {
        @Override
        protected SessionConfig config(Clock clock) {
            return VertxWebStoreContractTest.this.config(clock);
        }
    }
}
