package dev.vertxsessions.samples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.SessionConfig;
import java.nio.file.Path;
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
}
