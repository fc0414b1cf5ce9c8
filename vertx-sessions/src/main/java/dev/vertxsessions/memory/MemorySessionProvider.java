package dev.vertxsessions.memory;

import dev.vertxsessions.SessionBackend;
import dev.vertxsessions.SessionBackendProvider;
import dev.vertxsessions.SessionConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.Set;

/** Makes the in-memory backend choosable as {@code "manager": "memory"}, bounded by {@code memory_max_sessions}. */
public final class MemorySessionProvider implements SessionBackendProvider {

    @Override
    public String name() {
        return "memory";
    }

    @Override
    public Set<String> jsonKeys() {
        return Set.of(MemorySessionBackend.MAX_SESSIONS_KEY);
    }

    @Override
    public SessionBackend create(Vertx vertx, SessionConfig config, JsonObject options) {
        return MemorySessionBackend.create(vertx, config.getClock(), options);
    }
}
