package dev.vertxsessions.signedcookies;

import dev.vertxsessions.SessionBackend;
import dev.vertxsessions.SessionBackendProvider;
import dev.vertxsessions.SessionConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.Set;

/**
 * Makes the signed-cookie backend choosable as {@code "manager": "signed"} (the default). It reads the core keys
 * {@code secret_key}, {@code fallback_secret_keys} and {@code cookie_encryption}, none of its own.
 */
public final class SignedSessionProvider implements SessionBackendProvider {

    @Override
    public String name() {
        return "signed";
    }

    @Override
    public Set<String> jsonKeys() {
        return Set.of();
    }

    @Override
    public SessionBackend create(Vertx vertx, SessionConfig config, JsonObject options) {
        return SignedSessionManager.factory().create(vertx, config);
    }
}
