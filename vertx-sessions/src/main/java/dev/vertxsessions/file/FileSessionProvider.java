package dev.vertxsessions.file;

import dev.vertxsessions.SessionBackend;
import dev.vertxsessions.SessionBackendProvider;
import dev.vertxsessions.SessionConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.Set;

/** Makes the file backend choosable as {@code "manager": "file"}, configured by {@link FileSessionOptions}. */
public final class FileSessionProvider implements SessionBackendProvider {

    @Override
    public String name() {
        return "file";
    }

    @Override
    public Set<String> jsonKeys() {
        return FileSessionOptions.JSON_KEYS;
    }

    @Override
    public SessionBackend create(Vertx vertx, SessionConfig config, JsonObject options) {
        return FileSessionInterface.create(vertx, new FileSessionOptions(options), config.getClock());
    }
}
