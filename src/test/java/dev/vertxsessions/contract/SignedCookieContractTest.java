package dev.vertxsessions.contract;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.TestServer;
import dev.vertxsessions.signedcookies.SignedSessionManager;
import java.time.Clock;

/** The backend contract for signed cookies: no revocation, no per-key merge, no atomic update (capabilities). */
class SignedCookieContractTest extends BackendContractTest {

    @Override
    protected SessionConfig config(Clock clock) {
        return new SessionConfig().setSecretKey(TestServer.SECRET).setBackend(SignedSessionManager.factory());
    }
}
