package dev.vertxsessions.contract;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.signedcookies.SignedSessionManager;
import dev.vertxsessions.testkit.BackendContract;
import dev.vertxsessions.testkit.TestServer;
import java.time.Clock;

/** The backend contract for signed cookies: no revocation, no per-key merge, no atomic update (capabilities). */
class SignedCookieContractTest extends BackendContract {

    @Override
    protected SessionConfig config(Clock clock) {
        return new SessionConfig().setSecretKey(TestServer.SECRET).setBackend(SignedSessionManager.factory());
    }
}
