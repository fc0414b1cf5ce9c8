package dev.vertxsessions.samples.postgres;

import dev.vertxsessions.OptionsReader;
import dev.vertxsessions.SessionBackend;
import dev.vertxsessions.SessionBackendProvider;
import dev.vertxsessions.SessionConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.Set;

/**
 * Makes the PostgreSQL backend choosable as {@code "manager": "postgres"}, configured by the object under the key
 * {@code postgres} ({@link PostgresSessionOptions}). Listed in
 * {@code META-INF/services/dev.vertxsessions.SessionBackendProvider}; stateless, so thread-safe.
 */
public final class PostgresSessionProvider implements SessionBackendProvider {

    @Override
    public String name() {
        return "postgres";
    }

    @Override
    public Set<String> jsonKeys() {
        return Set.of(PostgresSessionOptions.JSON_KEY);
    }

    @Override
    public SessionBackend create(Vertx vertx, SessionConfig config, JsonObject options) {
        JsonObject own = OptionsReader.of(null, options, jsonKeys()).object(PostgresSessionOptions.JSON_KEY);
        return PostgresSessionBackend.create(vertx, config, PostgresSessionOptions.fromJson(own));
    }
}
