package dev.vertxsessions;

import static dev.vertxsessions.SaveDecision.COOKIE_ONLY;
import static dev.vertxsessions.SaveDecision.DELETE;
import static dev.vertxsessions.SaveDecision.MOVE;
import static dev.vertxsessions.SaveDecision.NOTHING;
import static dev.vertxsessions.SaveDecision.SAVE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The save rules as a table: what the middleware does with a session in each state when its response goes out. */
class SaveDecisionTest {

    /** The decision for a 200 answer, the arguments in the order of {@link SaveDecision.State}'s, then the options. */
    private static SaveDecision decide(
            boolean destroyed,
            boolean empty,
            boolean modified,
            boolean stored,
            boolean movePending,
            boolean requestHadCookie,
            boolean rolling,
            boolean lazy,
            boolean cookieDue) {
        return decide(200, destroyed, empty, modified, stored, movePending, requestHadCookie, rolling, lazy, cookieDue);
    }

    private static SaveDecision decide(
            int status,
            boolean destroyed,
            boolean empty,
            boolean modified,
            boolean stored,
            boolean movePending,
            boolean requestHadCookie,
            boolean rolling,
            boolean lazy,
            boolean cookieDue) {
        return SaveDecision.decide(
                new SaveDecision.State(destroyed, empty, modified, stored, movePending, requestHadCookie, cookieDue),
                rolling,
                lazy,
                status);
    }

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
    void logoutsAndRegenerates_areHonouredWhateverTheStatus() {
        for (int status : new int[] {400, 401, 403, 404, 422, 500, 503}) {
            assertEquals(DELETE, decide(status, true, true, true, true, false, true, false, true, false), "invalidate");
            assertEquals(DELETE, decide(status, false, true, true, true, false, true, false, true, false), "clear");
        }
        assertEquals(MOVE, decide(500, false, false, true, false, true, true, false, true, false), "regenerate on 500");
        assertEquals(MOVE, decide(503, false, false, true, false, true, true, false, true, false), "regenerate on 503");
        assertEquals(SAVE, decide(401, false, false, true, false, true, true, false, true, false), "4xx saves all");
    }

    @Test
    void errorAnswers_saveNothingElse_andNeverANewEmptySession() {
        assertEquals(NOTHING, decide(500, false, false, true, true, false, true, false, true, false), "5xx change");
        assertEquals(NOTHING, decide(500, false, true, false, false, false, false, false, false, false), "5xx eager");
        assertEquals(NOTHING, decide(401, false, true, false, false, false, false, false, false, false), "401 eager");
        assertEquals(NOTHING, decide(404, false, true, false, false, false, true, false, false, false), "404 eager");
        assertEquals(SAVE, decide(422, false, false, true, false, false, false, false, true, false), "422 flash");
        assertEquals(SAVE, decide(302, false, true, false, false, false, false, false, false, false), "302 eager");
    }

    @Test
    void anAtomicUpdateThatStoredTheSession_onlyNeedsItsCookie() {
        assertEquals(COOKIE_ONLY, decide(false, false, false, true, false, false, false, true, true));
    }

    @Test
    void cookies_areSentWhenTheBrowserMustLearnSomething() {
        assertTrue(SaveDecision.cookieNeeded(false, false, false, false), "a signed cookie carries the data");
        assertTrue(SaveDecision.cookieNeeded(true, true, false, false), "a persistent cookie's renewal is due");
        assertTrue(SaveDecision.cookieNeeded(true, false, true, false), "a new ID");
        assertTrue(SaveDecision.cookieNeeded(true, false, false, true), "remember-me changed");
        assertFalse(SaveDecision.cookieNeeded(true, false, false, false), "same ID, browser-session cookie");
    }

    @Test
    void aPersistentCookie_isRenewedWhenTheExpiryMovesToAnotherStep() {
        long minute = 60_000;
        long t = 1_796_688_000_000L; // 2026-12-08T00:00:00Z, a whole minute
        Duration day = Duration.ofDays(1);
        assertTrue(SaveDecision.cookieRenewalDue(0, t, day), "no cookie known");
        assertFalse(SaveDecision.cookieRenewalDue(t, t, day), "the same expiry");
        assertFalse(SaveDecision.cookieRenewalDue(t, t + minute - 1, day), "within the minute");
        assertTrue(SaveDecision.cookieRenewalDue(t, t + minute, day), "the next minute");
        assertTrue(SaveDecision.cookieRenewalDue(t + minute, t + minute - 1, day), "a shorter expiry");
        Duration halfHour = Duration.ofMinutes(30); // a hundredth: 18 s
        assertFalse(SaveDecision.cookieRenewalDue(t, t + 17_999, halfHour));
        assertTrue(SaveDecision.cookieRenewalDue(t, t + 18_000, halfHour));
        assertTrue(SaveDecision.cookieRenewalDue(t, t + 1, Duration.ofMillis(50)), "steps of at least 1 ms");
    }
}
