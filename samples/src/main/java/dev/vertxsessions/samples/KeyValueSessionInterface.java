package dev.vertxsessions.samples;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionManagerFactory;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.LinkedHashMap;

/**
 * The seed guide's "Building Custom Session Backends" example in Java: a session backend written against the public
 * API only, keeping each session as one JSON document under {@code session:<key>} in a {@link KeyValueStore}
 * (which stands in for a Redis client). Register it with
 *
 * <pre>{@code
 * KeyValueStore store = new KeyValueStore(Clock.systemUTC());
 * SessionConfig config = new SessionConfig()
 *   .setManager(SessionManagerFactory.of(() -> new KeyValueSessionInterface(store)));
 * }</pre>
 *
 * <p>Like the seed's example it saves the whole session at once, so when two requests of one browser change the
 * session at the same time, the last save wins; the built-in file and Redis backends merge per key and
 * implement atomic updates instead. It ignores {@code absolute_expiry}, which would need the creation time stored
 * too.
 */
public class KeyValueSessionInterface extends BaseSessionInterface {

    private final KeyValueStore store;

    /** Creates the session of one request, kept in {@code store}. */
    public KeyValueSessionInterface(KeyValueStore store) {
        this.store = store;
    }

    /** Returns the factory to pass to {@link SessionConfig#setManager(SessionManagerFactory)}. */
    public static SessionManagerFactory factory(KeyValueStore store) {
        return SessionManagerFactory.of(() -> new KeyValueSessionInterface(store));
    }

    /** Loads the session named by the cookie; an unknown or expired key leaves the session empty (a new one). */
    @Override
    protected Future<Void> load() {
        return store.get(storeKey(getSessionKey())).map(json -> {
            if (json != null) {
                restore(new JsonObject(json).getMap());
            }
            return null;
        });
    }

    /**
     * Saves the session. A session that was loaded is only overwritten while it still exists, so a request that
     * was running while another one logged out cannot bring the session back.
     */
    @Override
    protected Future<Void> save() {
        String json = document(); // read the data now: it may change once this method returns
        if (isNew()) {
            return store.setex(storeKey(getSessionKey()), getExpiryAge(), json);
        }
        return store.setexIfExists(storeKey(getSessionKey()), getExpiryAge(), json)
                .mapEmpty();
    }

    /** Saves the session under its new key after {@code regenerate()} (at login), then deletes the old key. */
    @Override
    protected Future<Void> replace(String previousKey) {
        String json = document();
        return store.setex(storeKey(getSessionKey()), getExpiryAge(), json).compose(v -> delete(previousKey));
    }

    /** Deletes the stored session (at logout, or for the old key after {@code regenerate()}). */
    @Override
    protected Future<Void> delete(String sessionKey) {
        return store.del(storeKey(sessionKey));
    }

    private String document() {
        return new JsonObject(new LinkedHashMap<>(data())).encode();
    }

    private static String storeKey(String sessionKey) {
        return "session:" + sessionKey;
    }
}
