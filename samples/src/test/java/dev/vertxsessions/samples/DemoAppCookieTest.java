package dev.vertxsessions.samples;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.SessionConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The demo on signed cookies, the default, configured as {@code SESSION_SECRET=...} would. */
class DemoAppCookieTest extends DemoAppContractTest {

    @Override
    SessionConfig sessionConfig(Path tempDir) {
        return DemoSettings.fromEnv(Map.of("SESSION_SECRET", SECRET)).sessionConfig();
    }

    @Override
    boolean storesSessionsOnServer() {
        return false;
    }

    /** Issue 20: signed cookies keep no list of a user's sessions; the page says so, the actions answer 501. */
    @Test
    void yourSessions_saysThisBackendCannotListSessions_andWhy() {
        assertYourSessionsRefused("sessions kept in signed cookies live in the browsers");
    }

    /** The seed guide's con of signed cookies: a copy of a cookie taken before logout still works. */
    @Test
    void logout_cannotEndACopyOfTheCookie() {
        Browser browser = browser();
        logIn(browser, "alice", "wonderland");
        String copy = browser.cookie(COOKIE);
        browser.post("/logout");
        Browser replaying = browser();
        replaying.setCookie(COOKIE, copy);
        assertTrue(html(replaying.get("/dashboard")).contains("<h1>Welcome, alice!</h1>"));
    }

    /**
     * Issue 23: a copy of the cookie re-saved often enough stayed logged in forever. The demo's absolute expiry ends
     * it however active it is kept.
     */
    @Test
    void copyOfTheCookie_keptActive_endsAtTheAbsoluteExpiry() {
        Duration absolute = config.getAbsoluteExpiry();
        assertNotNull(absolute, "the demo sets no absolute expiry");
        Duration step = config.getExpiry().dividedBy(2);
        Browser browser = browser();
        logIn(browser, "alice", "wonderland");
        String copy = browser.cookie(COOKIE);
        browser.post("/logout");
        Browser replaying = browser();
        replaying.setCookie(COOKIE, copy);
        Duration elapsed = Duration.ZERO;
        while (elapsed.plus(step).compareTo(absolute) < 0) {
            clock.advance(step);
            elapsed = elapsed.plus(step);
            text(replaying.get("/")); // a save: the cookie slides to a new expiry
            assertTrue(
                    html(replaying.get("/dashboard")).contains("<h1>Welcome, alice!</h1>"),
                    "still logged in after " + elapsed);
        }
        clock.advance(absolute.minus(elapsed).minusSeconds(1));
        assertTrue(html(replaying.get("/dashboard")).contains("<h1>Welcome, alice!</h1>"), "one second before");
        clock.advance(Duration.ofSeconds(2));
        assertRedirect("/login", replaying.get("/dashboard"));
    }
}
