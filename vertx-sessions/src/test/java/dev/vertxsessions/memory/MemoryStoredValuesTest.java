package dev.vertxsessions.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vertxsessions.BackendRecorder;
import dev.vertxsessions.SessionBackend;
import dev.vertxsessions.SessionChanges;
import dev.vertxsessions.SessionConfig;
import io.vertx.core.Vertx;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The memory backend keeps strings, numbers and booleans as they are and maps and lists as JSON: a load gives what a
 * JSON copy gives, whatever the value, and nothing a route does to a loaded or saved object reaches the store.
 */
class MemoryStoredValuesTest {

    private static final String ID = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    Vertx vertx;
    SessionBackend backend;

    @BeforeEach
    void start() {
        vertx = Vertx.vertx();
        backend = MemorySessionBackend.factory(100).create(vertx, new SessionConfig().setManager("memory"));
        backend.start(BackendRecorder.NONE).await();
    }

    @AfterEach
    void stop() {
        backend.close().await();
        vertx.close().await();
    }

    @Test
    void loadedValues_haveTheTypesJsonGivesBack() {
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
    }

    @Test
    @SuppressWarnings("unchecked")
    void changesToLoadedOrSavedObjects_doNotReachTheStore() {
        List<Object> cart = new ArrayList<>(List.of("book"));
        backend.save(changes(Map.of("cart", cart, "counter", 1))).await();
        cart.add("saved, then changed");

        ((List<Object>) backend.load(ID).await().data().get("cart")).add("loaded, then changed");

        assertEquals(List.of("book"), backend.load(ID).await().data().get("cart"));
        assertEquals(1, backend.load(ID).await().data().get("counter"));
    }

    @Test
    void atomicUpdate_storesWhatJsonWouldGiveBack() {
        backend.save(changes(Map.of("counter", 1))).await();
        SessionChanges context = SessionChanges.builder(ID).stored().build();

        backend.update(context, "counter", value -> 2L).await();

        assertEquals(2, backend.load(ID).await().data().get("counter"));
    }

    private static SessionChanges changes(Map<String, Object> values) {
        SessionChanges.Builder builder = SessionChanges.builder(ID);
        values.forEach(builder::put);
        return builder.build();
    }
}
