package dev.vertxsessions;

import static dev.vertxsessions.SaveDecision.COOKIE_ONLY;
import static dev.vertxsessions.SaveDecision.DELETE;
import static dev.vertxsessions.SaveDecision.NOTHING;
import static dev.vertxsessions.SaveDecision.SAVE;
import static dev.vertxsessions.SaveDecision.decide;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The save rules as a table: what the middleware does with a session in each state when its response goes out. */
class SaveDecisionTest {

    @Test
    void untouchedSessions_costNothing() {
        assertEquals(NOTHING, decide(false, true, false, false, false, false, false, true, false), "new visitor, lazy");
        assertEquals(NOTHING, decide(false, false, false, true, false, true, false, true, false), "read-only request");
        assertEquals(
                NOTHING,
                decide(false, true, false, true, false, true, false, false, false),
                "a stored empty session (eager mode) that nobody touched is not deleted");
    }

    @Test
    void changedSessions_areSaved() {
        assertEquals(SAVE, decide(false, false, true, false, false, false, false, true, false), "first write");
        assertEquals(SAVE, decide(false, false, true, true, false, true, false, true, false), "change");
        assertEquals(SAVE, decide(false, false, true, true, true, true, false, true, false), "regenerate");
        assertEquals(SAVE, decide(false, false, false, true, false, true, true, true, false), "rolling renews reads");
        assertEquals(
                SAVE,
                decide(false, true, false, false, false, false, false, false, false),
                "eager mode stores a new empty session");
    }

    @Test
    void logoutsDelete_andOnlyWhenThereIsSomethingToForget() {
        assertEquals(DELETE, decide(true, true, true, true, false, true, false, true, false), "invalidate");
        assertEquals(DELETE, decide(false, true, true, true, false, true, false, true, false), "clear");
        assertEquals(
                DELETE,
                decide(true, true, true, false, true, false, false, true, false),
                "invalidate after a regenerate: the previous key is still stored");
        assertEquals(
                DELETE,
                decide(true, true, true, false, false, true, false, true, false),
                "a cookie for a session that is gone is expired");
        assertEquals(
                NOTHING,
                decide(true, true, true, false, false, false, false, true, false),
                "nothing stored, no cookie: nothing to forget");
    }

    @Test
    void anAtomicUpdateThatStoredTheSession_onlyNeedsItsCookie() {
        assertEquals(COOKIE_ONLY, decide(false, false, false, true, false, false, false, true, true));
    }

    @Test
    void cookies_areSentWhenTheBrowserMustLearnSomething() {
        assertTrue(SaveDecision.cookieNeeded(false, false, false, false), "a signed cookie carries the data");
        assertTrue(SaveDecision.cookieNeeded(true, true, false, false), "a persistent cookie follows the expiry");
        assertTrue(SaveDecision.cookieNeeded(true, false, true, false), "a new ID");
        assertTrue(SaveDecision.cookieNeeded(true, false, false, true), "remember-me changed");
        assertFalse(SaveDecision.cookieNeeded(true, false, false, false), "same ID, browser-session cookie");
    }
}
