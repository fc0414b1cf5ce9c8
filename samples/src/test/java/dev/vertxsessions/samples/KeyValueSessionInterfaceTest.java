package dev.vertxsessions.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.SessionConfig;
import io.vertx.junit5.VertxTestContext;
import java.nio.file.Path;
import java.time.Duration;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** The custom backend example, driving the whole demo over HTTP, plus what it stores. */
class KeyValueSessionInterfaceTest extends DemoAppContractTest {

    private KeyValueStore store;

    @Override
    SessionConfig sessionConfig(Path tempDir) {
        store = new KeyValueStore(clock);
        return new SessionConfig().setManager(KeyValueSessionInterface.factory(store));
    }

    @Override
    boolean storesSessionsOnServer() {
        return true;
    }

    @Override
    OptionalInt storedSessions() {
        return OptionalInt.of(store.size());
    }

    @Test
    void session_isStoredUnderItsCookieValue(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            text(browser.get("/"));
            String key = browser.cookie(COOKIE);
            assertTrue(store.contains("session:" + key), key);
            assertEquals("{\"counter\":1}", store.get("session:" + key).await());
        });
        test.completeNow();
    }

    @Test
    void unknownKey_startsASessionWithANewKey(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            String forged = "x".repeat(43);
            browser.setCookie(COOKIE, forged);
            assertEquals("You've visited this page 1 times", text(browser.get("/")));
            assertNotEquals(forged, browser.cookie(COOKIE));
            assertFalse(store.contains("session:" + forged));
        });
        test.completeNow();
    }

    @Test
    void expiredSession_startsAfresh(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            browser.get("/");
            browser.get("/");
            clock.advance(Duration.ofSeconds(86400));
            assertEquals("You've visited this page 1 times", text(browser.get("/")));
        });
        test.completeNow();
    }
}
