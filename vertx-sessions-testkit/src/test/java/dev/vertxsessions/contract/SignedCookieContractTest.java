package dev.vertxsessions.contract;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.signedcookies.SignedSessionManager;
import dev.vertxsessions.testkit.BackendContract;
import dev.vertxsessions.testkit.BackendSpiContract;
import dev.vertxsessions.testkit.TestServer;
import java.time.Clock;
import org.junit.jupiter.api.Nested;

/** The backend contract for signed cookies: no revocation, no per-key merge, no atomic update (capabilities). */
class SignedCookieContractTest extends BackendContract {

    @Override
    protected SessionConfig config(Clock clock) {
        return new SessionConfig().setSecretKey(TestServer.SECRET).setBackend(SignedSessionManager.factory());
    }

    /** The SPI-level contract on the same backend, configured the same way. */
    @Nested
    class Spi extends BackendSpiContract {
        @Override
        protected SessionConfig config(Clock clock) {
            return SignedCookieContractTest.this.config(clock);
        }
    }
}
