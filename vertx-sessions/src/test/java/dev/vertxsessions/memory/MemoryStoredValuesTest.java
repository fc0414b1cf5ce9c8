package dev.vertxsessions.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vertxsessions.BackendRecorder;
import dev.vertxsessions.SessionBackend;
import dev.vertxsessions.SessionChanges;
import dev.vertxsessions.SessionConfig;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The memory backend keeps strings, numbers and booleans as they are and maps and lists as JSON: a load gives what a
 * JSON copy gives, whatever the value, and nothing a route does to a loaded or saved object reaches the store.
 */
@ExtendWith(VertxExtension.class)
class MemoryStoredValuesTest {

    private static final String ID = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    SessionBackend backend;

    @BeforeEach
    void start(Vertx vertx) {
        backend = MemorySessionBackend.factory(100).create(vertx, new SessionConfig().setManager("memory"));
        backend.start(BackendRecorder.NONE).await();
    }

    @AfterEach
    void stop() {
        backend.close().await();
    }

    @Test
    void loadedValues_haveTheTypesJsonGivesBack(VertxTestContext test) {
        test.verify(() -> {
            Map<String, Object> values = new LinkedHashMap<>();
            values.put("counter", 41);
            values.put("big", 5_000_000_000L);
            values.put("small", 7L);
            values.put("ratio", 0.25);
            values.put("nan", Double.NaN);
            values.put("price", new BigDecimal("12.50"));
            values.put("name", "Ada");
            values.put("flag", true);
            values.put("cart", List.of(Map.of("sku", "A-1", "qty", 2L)));
            backend.save(changes(values)).await();

            Map<String, Object> loaded = backend.load(ID).await().data();

            assertEquals(41, loaded.get("counter"));
            assertEquals(5_000_000_000L, loaded.get("big"));
            assertEquals(7, loaded.get("small")); // an Integer, as JSON reads it
            assertEquals(0.25, loaded.get("ratio"));
            assertEquals("NaN", loaded.get("nan")); // as JSON wrote it before: a string
            assertEquals(12.5, loaded.get("price"));
            assertEquals("Ada", loaded.get("name"));
            assertEquals(true, loaded.get("flag"));
            assertEquals(List.of(Map.of("sku", "A-1", "qty", 2)), loaded.get("cart"));
        });
        test.completeNow();
    }

    @Test
    @SuppressWarnings("unchecked")
    void changesToLoadedOrSavedObjects_doNotReachTheStore(VertxTestContext test) {
        test.verify(() -> {
            List<Object> cart = new ArrayList<>(List.of("book"));
            backend.save(changes(Map.of("cart", cart, "counter", 1))).await();
            cart.add("saved, then changed");

            ((List<Object>) backend.load(ID).await().data().get("cart")).add("loaded, then changed");

            assertEquals(List.of("book"), backend.load(ID).await().data().get("cart"));
            assertEquals(1, backend.load(ID).await().data().get("counter"));
        });
        test.completeNow();
    }

    @Test
    void atomicUpdate_storesWhatJsonWouldGiveBack(VertxTestContext test) {
        backend.save(changes(Map.of("counter", 1)))
                .compose(saved -> {
                    SessionChanges context = SessionChanges.builder(ID).stored().build();
                    return backend.update(context, "counter", value -> 2L);
                })
                .compose(updated -> backend.load(ID))
                .onComplete(test.succeeding(loaded -> test.verify(() -> {
                    assertEquals(2, loaded.data().get("counter"));
                    test.completeNow();
                })));
    }

    private static SessionChanges changes(Map<String, Object> values) {
        SessionChanges.Builder builder = SessionChanges.builder(ID);
        values.forEach(builder::put);
        return builder.build();
    }
}
