package dev.vertxsessions.contract;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.testkit.BackendContract;
import dev.vertxsessions.vertxweb.VertxWebStoreBackend;
import io.vertx.ext.web.sstore.LocalSessionStore;
import java.time.Clock;

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
}
