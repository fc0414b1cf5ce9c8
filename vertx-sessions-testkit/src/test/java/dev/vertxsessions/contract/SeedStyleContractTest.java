package dev.vertxsessions.contract;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionManagerFactory;
import dev.vertxsessions.testkit.BackendContract;
import dev.vertxsessions.testkit.BackendSpiContract;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.junit.jupiter.api.Nested;

/**
 * The backend contract for a custom backend written exactly the seed's way: a {@link BaseSessionInterface}
 * subclass with {@code load()}, {@code save()} and {@code delete()}, and nothing else. It overrides neither
 * {@code replace()} nor {@code updateStored()}, so the contract checks that their defaults are correct.
 */
class SeedStyleContractTest extends BackendContract {

    /** The key-value store: one JSON document per session key. */
    private final ConcurrentMap<String, String> store = new ConcurrentHashMap<>();

    @Override
    protected SessionConfig config(Clock clock) {
        return new SessionConfig().setManager(SessionManagerFactory.of(() -> new JsonDocumentSession(store)));
    }

    /**
     * Keeps the whole session as one JSON document, with its own expiry: {@code {"createdAt": ms, "expiresAt": ms,
     * "expiry": seconds or null, "data": {...}}}.
     */
    static final class JsonDocumentSession extends BaseSessionInterface {

        private final ConcurrentMap<String, String> store;

        JsonDocumentSession(ConcurrentMap<String, String> store) {
            this.store = store;
        }

        @Override
        protected Future<Void> load() {
            String key = getSessionKey();
            String json = store.get(key);
            if (json != null) {
                JsonObject document = new JsonObject(json);
                Long expirySeconds = document.getLong("expiry");
                boolean live = restore(
                        key,
                        document.getJsonObject("data").getMap(),
                        document.getLong("createdAt"),
                        document.getLong("expiresAt"),
                        expirySeconds == null ? null : Duration.ofSeconds(expirySeconds));
                if (!live) {
                    store.remove(key, json); // expired: what a store's TTL would have done
                }
            }
            return Future.succeededFuture();
        }

        @Override
        protected Future<Void> save() {
            Duration expiry = perSessionExpiry();
            String json = new JsonObject()
                    .put("createdAt", getCreatedAt())
                    .put("expiresAt", expiresAtMillis())
                    .put("expiry", expiry == null ? null : expiry.toSeconds())
                    .put("data", new JsonObject(new LinkedHashMap<>(data())))
                    .encode();
            if (isNew()) {
                store.put(getSessionKey(), json);
            } else if (store.computeIfPresent(getSessionKey(), (key, stored) -> json) == null) {
                reportConflict(); // deleted meanwhile (a logout): write nothing, so it is not brought back
            }
            return Future.succeededFuture();
        }

        @Override
        protected Future<Void> delete(String sessionKey) {
            store.remove(sessionKey);
            return Future.succeededFuture();
        }
    }

    /** The SPI-level contract on the same backend, configured the same way. */
    @Nested
    class Spi extends BackendSpiContract {
        @Override
        protected SessionConfig config(Clock clock) {
            return SeedStyleContractTest.this.config(clock);
        }
    }
}
