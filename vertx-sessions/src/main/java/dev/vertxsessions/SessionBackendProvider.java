package dev.vertxsessions;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.Set;

/**
 * Makes a backend choosable by name in JSON ({@code "manager": "file"}), found with {@link java.util.ServiceLoader}:
 * list the implementing class in {@code META-INF/services/dev.vertxsessions.SessionBackendProvider} of your jar.
 *
 * <p>A provider declares the top-level JSON keys it reads, so {@link SessionConfig#SessionConfig(JsonObject)}
 * accepts them and still refuses every unknown key. The built-in backends read the seed's flat keys
 * ({@code directory}, {@code redis_url}, ...); a third-party backend should read one object under a key of its own
 * name ({@code "postgres": {"url": ...}}). Implementations must be thread-safe and have a public no-argument
 * constructor.
 */
public interface SessionBackendProvider {

    /** Returns the name that {@code manager} selects this backend by, e.g. {@code file}. */
    String name();

    /** Returns the top-level JSON keys this backend reads. */
    Set<String> jsonKeys();

    /**
     * Creates the backend from the middleware's validated configuration and {@code options}, the JSON object
     * holding the keys of {@link #jsonKeys()} that were set. Throws {@link IllegalArgumentException} naming the key
     * and the fix for an invalid value.
     */
    SessionBackend create(Vertx vertx, SessionConfig config, JsonObject options);
}
