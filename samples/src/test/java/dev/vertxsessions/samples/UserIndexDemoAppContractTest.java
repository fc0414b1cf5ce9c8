package dev.vertxsessions.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxTestContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The demo's "Your sessions" page and its actions (issue 20) on the backends with a user index (files, Redis), over
 * real HTTP. Every response is checked to carry no raw session ID of another session, in its body or headers, and
 * no raw session ID at all in its body.
 */
abstract class UserIndexDemoAppContractTest extends ServerSideDemoAppContractTest {

    private static final String PAGE = "/account/sessions";

    /** Every session ID (the cookie value of a server-side backend) a browser of the test has held. */
    private final Set<String> ids = new TreeSet<>();

    /** Logs {@code username} in from a new browser and remembers its session ID. */
    private Browser loggedIn(String username, String password) {
        Browser browser = browser();
        logIn(browser, username, password);
        String id = browser.cookie(COOKIE);
        assertNotNull(id, "no cookie after login");
        ids.add(id);
        return browser;
    }

    /** Returns {@code response} after checking that it shows no raw session ID other than {@code own}'s cookie. */
    private HttpResponse<Buffer> noRawIds(Browser own, HttpResponse<Buffer> response) {
        String ownId = own.cookie(COOKIE);
        String body = response.bodyAsString() == null ? "" : response.bodyAsString();
        for (String id : ids) {
            assertFalse(body.contains(id), "the body shows a raw session ID: " + body);
            for (Map.Entry<String, String> header : response.headers()) {
                boolean ownCookie = header.getKey().equalsIgnoreCase("set-cookie") && id.equals(ownId);
                assertTrue(
                        ownCookie || !header.getValue().contains(id),
                        "header " + header.getKey() + " shows another session's ID: " + header.getValue());
            }
        }
        return response;
    }

    private HttpResponse<Buffer> get(Browser browser, String path) {
        return noRawIds(browser, browser.get(path));
    }

    private HttpResponse<Buffer> getHtml(Browser browser, String path) {
        return noRawIds(browser, browser.getHtml(path));
    }

    private HttpResponse<Buffer> post(Browser browser, String path) {
        return noRawIds(browser, browser.post(path));
    }

    private HttpResponse<Buffer> submit(Browser browser, String path) {
        return noRawIds(browser, browser.submitForm(path));
    }

    /** Returns the sessions {@code browser}'s user sees as JSON, checking the answer's shape. */
    private JsonArray sessionsOf(Browser browser) {
        HttpResponse<Buffer> response = get(browser, PAGE);
        assertEquals(200, response.statusCode(), response::bodyAsString);
        assertEquals("application/json", response.getHeader("content-type"));
        JsonObject json = response.bodyAsJsonObject();
        assertEquals(Set.of("user", "sessions"), json.fieldNames());
        JsonArray sessions = json.getJsonArray("sessions");
        for (int i = 0; i < sessions.size(); i++) {
            JsonObject session = sessions.getJsonObject(i);
            assertEquals(
                    Set.of("handle", "created_at", "expires_at", "user_agent", "address", "current"),
                    session.fieldNames(),
                    session::encode);
            assertEquals("127.0.0.1", session.getString("address"), session::encode); // record_client_info
            assertTrue(session.getString("user_agent").startsWith("Vert.x-WebClient/"), session::encode);
            assertTrue(session.getString("handle").matches("[0-9a-f]{16}"), session::encode);
            Instant created = Instant.parse(session.getString("created_at"));
            assertTrue(Instant.parse(session.getString("expires_at")).isAfter(created), session::encode);
        }
        return sessions;
    }

    /** Returns the handles in {@code sessions}, sorted, and the current one's first. */
    private static List<String> handles(JsonArray sessions) {
        List<String> handles = new ArrayList<>();
        String current = null;
        for (int i = 0; i < sessions.size(); i++) {
            JsonObject session = sessions.getJsonObject(i);
            if (session.getBoolean("current")) {
                assertNull(current, "two sessions are marked current: " + sessions.encode());
                current = session.getString("handle");
            } else {
                handles.add(session.getString("handle"));
            }
        }
        handles.sort(null);
        if (current != null) {
            handles.add(0, current);
        }
        return handles;
    }

    /** The handle the page must show for {@code browser}'s session: the first 16 hex digits of its ID's SHA-256. */
    private static String handleOf(Browser browser) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest(browser.cookie(COOKIE).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<String> sorted(String first, String... others) {
        List<String> rest = new ArrayList<>(List.of(others));
        rest.sort(null);
        rest.add(0, first);
        return rest;
    }

    private static int count(String text, String part) {
        int count = 0;
        for (int at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + part.length())) {
            count++;
        }
        return count;
    }

    /** Asserts that {@code browser} is anonymous now: its next request finds no login. */
    private void assertLoggedOut(Browser browser) {
        assertRedirect("/login", noRawIds(browser, browser.get("/dashboard")));
        assertJson(401, new JsonObject().put("error", "Log in first."), get(browser, PAGE));
    }

    private void assertLoggedIn(Browser browser, String username) {
        assertTrue(html(get(browser, "/dashboard")).contains("<h1>Welcome, " + username + "!</h1>"), username);
    }

    // ------------------------------------------------------------------ the page

    @Test
    void twoLoginsOfOneUser_areTwoRows_withExactlyOneThisDevice_andNoRawId(VertxTestContext test) {
        test.verify(() -> {
            Browser laptop = loggedIn("alice", "wonderland");
            Browser phone = loggedIn("alice", "wonderland");
            Browser bob = loggedIn("bob", "builder");

            assertEquals(sorted(handleOf(laptop), handleOf(phone)), handles(sessionsOf(laptop)));
            assertEquals(sorted(handleOf(phone), handleOf(laptop)), handles(sessionsOf(phone)));
            assertEquals(List.of(handleOf(bob)), handles(sessionsOf(bob)));

            String page = html(getHtml(laptop, PAGE));
            assertTrue(page.contains("<h1>Your sessions</h1>"), page);
            assertEquals(2, count(page, "<td><code>"), page);
            assertEquals(1, count(page, "<tr class=\"current\">"), page);
            assertEquals(1, count(page, "(this device)"), page);
            assertTrue(
                    page.contains("<tr class=\"current\"><td><code>" + handleOf(laptop)
                            + "</code> <strong>(this device)</strong></td>"),
                    page);
            assertTrue(page.contains("<tr><td><code>" + handleOf(phone) + "</code></td>"), page);
            assertFalse(page.contains(handleOf(bob)), page);
            for (Browser device : List.of(laptop, phone)) {
                assertTrue(
                        page.contains(
                                "<form method=\"post\" action=\"/account/sessions/" + handleOf(device) + "/end\">"),
                        page);
            }
            assertTrue(page.contains("<form method=\"post\" action=\"/account/sessions/end-others\">"), page);
            assertTrue(page.contains("<form method=\"post\" action=\"/account/sessions/end-all\">"), page);
            assertTrue(page.matches("(?s).*<td>\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC</td>.*"), page);
            // Linked from the navigation of every page while logged in, and from the dashboard.
            assertTrue(nav(page).contains("<a href=\"/account/sessions\">Your sessions</a>"), page);
            assertTrue(html(getHtml(laptop, "/dashboard")).contains("href=\"/account/sessions\""));
        });
        test.completeNow();
    }

    @Test
    void theAdministrator_seesEveryAccountsSessions_withTheirDevice_andEndsOne(VertxTestContext test) {
        test.verify(() -> {
            Browser alice = loggedIn("alice", "wonderland");
            Browser bob = loggedIn("bob", "builder");
            HttpResponse<Buffer> listed = get(alice, "/admin/sessions");
            assertEquals(200, listed.statusCode(), listed::bodyAsString);
            JsonObject json = listed.bodyAsJsonObject();
            assertTrue(json.getLong("stored") >= 2, json::encode);
            Map<String, String> users = new TreeMap<>();
            JsonArray sessions = json.getJsonArray("sessions");
            for (int i = 0; i < sessions.size(); i++) {
                JsonObject session = sessions.getJsonObject(i);
                users.put(session.getString("handle"), session.getString("user"));
                assertEquals("127.0.0.1", session.getString("address"), session::encode);
                assertTrue(session.getString("user_agent").startsWith("Vert.x-WebClient/"), session::encode);
                assertTrue(
                        !Instant.parse(session.getString("last_access_at"))
                                .isBefore(Instant.parse(session.getString("created_at"))),
                        session::encode);
            }
            assertEquals(Map.of(handleOf(alice), "alice", handleOf(bob), "bob"), users);
            String page = html(getHtml(alice, "/admin/sessions"));
            assertTrue(page.contains("<h1>Everyone's sessions</h1>"), page);
            assertTrue(
                    page.contains("<form method=\"post\" action=\"/admin/sessions/bob/" + handleOf(bob) + "/end\">"),
                    page);
            assertTrue(page.contains(", from 127.0.0.1</td>"), page);
            assertTrue(html(getHtml(alice, "/dashboard")).contains("href=\"/admin/sessions\""));

            JsonObject forbidden = new JsonObject().put("error", "Only an administrator sees everyone's sessions.");
            assertJson(403, forbidden, get(bob, "/admin/sessions"));
            assertJson(403, forbidden, post(bob, "/admin/sessions/alice/" + handleOf(alice) + "/end"));
            assertJson(401, new JsonObject().put("error", "Log in first."), get(browser(), "/admin/sessions"));
            assertLoggedIn(alice, "alice");
            JsonObject notFound =
                    new JsonObject().put("error", "That user has no session with that handle; nothing was ended.");
            assertJson(404, notFound, post(alice, "/admin/sessions/bob/0000000000000000/end"));
            assertJson(404, notFound, post(alice, "/admin/sessions/alice/" + handleOf(bob) + "/end"));
            assertLoggedIn(bob, "bob");

            assertJson(
                    200,
                    new JsonObject().put("success", true),
                    post(alice, "/admin/sessions/bob/" + handleOf(bob) + "/end"));
            assertLoggedOut(bob);
            assertLoggedIn(alice, "alice");
        });
        test.completeNow();
    }

    @Test
    void anonymousRequests_areSentToLogIn_orRefused401_andEndNothing(VertxTestContext test) {
        test.verify(() -> {
            Browser alice = loggedIn("alice", "wonderland");
            Browser anonymous = browser();
            assertRedirect("/login", anonymous.getHtml(PAGE));
            assertFalse(nav(html(anonymous.getHtml("/shop"))).contains(PAGE));
            JsonObject refused = new JsonObject().put("error", "Log in first.");
            assertJson(401, refused, get(anonymous, PAGE));
            for (String path :
                    List.of(PAGE + "/end-others", PAGE + "/end-all", PAGE + "/" + handleOf(alice) + "/end")) {
                assertJson(401, refused, post(anonymous, path));
            }
            assertLoggedIn(alice, "alice");
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ ending one session

    @Test
    void endingAnotherSession_logsItsCookieOut_andKeepsThisOne(VertxTestContext test) {
        test.verify(() -> {
            Browser laptop = loggedIn("alice", "wonderland");
            Browser phone = loggedIn("alice", "wonderland");
            Browser tablet = loggedIn("alice", "wonderland");

            assertJson(200, new JsonObject().put("success", true), post(laptop, PAGE + "/" + handleOf(phone) + "/end"));
            assertLoggedOut(phone);
            assertLoggedIn(laptop, "alice");
            assertLoggedIn(tablet, "alice");
            assertEquals(sorted(handleOf(laptop), handleOf(tablet)), handles(sessionsOf(laptop)));

            // From the page's form: 303 back to the page, which says so.
            HttpResponse<Buffer> ended = submit(laptop, PAGE + "/" + handleOf(tablet) + "/end");
            assertSeeOther(PAGE + "?message=ended", ended);
            assertNull(Browser.setCookie(ended, COOKIE), "ending another session touched this one's cookie");
            assertTrue(html(getHtml(laptop, PAGE + "?message=ended")).contains("That session has been logged out."));
            assertLoggedOut(tablet);
            assertEquals(List.of(handleOf(laptop)), handles(sessionsOf(laptop)));
        });
        test.completeNow();
    }

    @Test
    void handleOfAnotherUsersSession_orAnUnknownOne_is404_andEndsNothing(VertxTestContext test) {
        test.verify(() -> {
            Browser alice = loggedIn("alice", "wonderland");
            Browser alicePhone = loggedIn("alice", "wonderland");
            Browser bob = loggedIn("bob", "builder");
            JsonObject notFound =
                    new JsonObject().put("error", "You have no session with that handle; nothing was logged out.");

            assertJson(404, notFound, post(alice, PAGE + "/" + handleOf(bob) + "/end"));
            assertJson(404, notFound, post(alice, PAGE + "/0000000000000000/end"));
            assertJson(404, notFound, post(alice, PAGE + "/" + handleOf(alice).toUpperCase(Locale.ROOT) + "/end"));
            HttpResponse<Buffer> page = submit(bob, PAGE + "/" + handleOf(alicePhone) + "/end");
            assertEquals(404, page.statusCode());
            assertEquals("text/html; charset=utf-8", page.getHeader("content-type"));
            assertTrue(page.bodyAsString().contains("nothing was logged out"), page::bodyAsString);

            assertLoggedIn(bob, "bob");
            assertLoggedIn(alice, "alice");
            assertLoggedIn(alicePhone, "alice");
            assertEquals(List.of(handleOf(bob)), handles(sessionsOf(bob)));
            assertEquals(sorted(handleOf(alice), handleOf(alicePhone)), handles(sessionsOf(alice)));
        });
        test.completeNow();
    }

    @Test
    void endingThisDevice_byItsHandle_isALogout_thatExpiresTheCookie(VertxTestContext test) {
        test.verify(() -> {
            Browser laptop = loggedIn("alice", "wonderland");
            Browser phone = loggedIn("alice", "wonderland");
            String laptopId = laptop.cookie(COOKIE);

            HttpResponse<Buffer> ended = submit(laptop, PAGE + "/" + handleOf(laptop) + "/end");
            assertSeeOther("/login?message=logged_out", ended);
            assertExpired(ended);
            assertNull(laptop.cookie(COOKIE));
            Browser replaying = browser();
            replaying.setCookie(COOKIE, laptopId);
            assertLoggedOut(replaying);
            assertLoggedIn(phone, "alice");
            assertEquals(List.of(handleOf(phone)), handles(sessionsOf(phone)));
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ all other devices, everywhere

    @Test
    void logOutAllOtherDevices_keepsTheCurrent_andOtherUsers(VertxTestContext test) {
        test.verify(() -> {
            Browser laptop = loggedIn("alice", "wonderland");
            Browser phone = loggedIn("alice", "wonderland");
            Browser tablet = loggedIn("alice", "wonderland");
            Browser bob = loggedIn("bob", "builder");

            assertJson(200, new JsonObject().put("success", true).put("ended", 2), post(laptop, PAGE + "/end-others"));
            assertLoggedOut(phone);
            assertLoggedOut(tablet);
            assertLoggedIn(laptop, "alice");
            assertLoggedIn(bob, "bob");
            assertEquals(List.of(handleOf(laptop)), handles(sessionsOf(laptop)));

            Browser again = loggedIn("alice", "wonderland");
            HttpResponse<Buffer> ended = submit(again, PAGE + "/end-others");
            assertSeeOther(PAGE + "?message=others_ended", ended);
            assertNull(Browser.setCookie(ended, COOKIE), "the current session's cookie changed");
            assertTrue(html(getHtml(again, PAGE + "?message=others_ended"))
                    .contains("Every other device has been logged out."));
            assertLoggedOut(laptop);
            assertEquals(List.of(handleOf(again)), handles(sessionsOf(again)));
        });
        test.completeNow();
    }

    @Test
    void logOutEverywhere_expiresTheCurrentCookie_andEndsTheOthers(VertxTestContext test) {
        test.verify(() -> {
            Browser laptop = loggedIn("alice", "wonderland");
            Browser phone = loggedIn("alice", "wonderland");
            Browser bob = loggedIn("bob", "builder");
            String laptopId = laptop.cookie(COOKIE);

            HttpResponse<Buffer> everywhere = submit(laptop, PAGE + "/end-all");
            assertSeeOther("/login?message=logged_out", everywhere);
            assertEquals("\"cache\"", everywhere.getHeader("clear-site-data"));
            assertExpired(everywhere);
            assertNull(laptop.cookie(COOKIE));
            assertLoggedOut(laptop);
            assertLoggedOut(phone);
            Browser replaying = browser();
            replaying.setCookie(COOKIE, laptopId);
            assertLoggedOut(replaying);
            assertLoggedIn(bob, "bob");

            // An API client gets JSON, the count including its own session, and the expired cookie too.
            Browser api = loggedIn("alice", "wonderland");
            loggedIn("alice", "wonderland");
            HttpResponse<Buffer> json = post(api, PAGE + "/end-all");
            assertJson(
                    200,
                    new JsonObject()
                            .put("success", true)
                            .put("logged_out", true)
                            .put("ended", 2),
                    json);
            assertExpired(json);
            assertLoggedOut(api);
            storedSessions().ifPresent(count -> assertEquals(1, count, "only bob's session is left"));
        });
        test.completeNow();
    }

    @Test
    void crossSiteActions_areRefused_andEndNothing(VertxTestContext test) {
        test.verify(() -> {
            Browser laptop = loggedIn("alice", "wonderland");
            Browser phone = loggedIn("alice", "wonderland");
            for (String path :
                    List.of(PAGE + "/end-others", PAGE + "/end-all", PAGE + "/" + handleOf(phone) + "/end")) {
                HttpResponse<Buffer> refused = noRawIds(
                        laptop,
                        laptop.postWithHeaders(path, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"));
                assertEquals(403, refused.statusCode(), path);
                assertEquals("Cross-site request refused.\n", refused.bodyAsString());
            }
            assertLoggedIn(laptop, "alice");
            assertLoggedIn(phone, "alice");
            assertEquals(sorted(handleOf(laptop), handleOf(phone)), handles(sessionsOf(laptop)));
        });
        test.completeNow();
    }

    private static void assertExpired(HttpResponse<Buffer> response) {
        String expired = Browser.setCookie(response, COOKIE);
        assertNotNull(expired, "the current cookie was not expired");
        assertTrue(expired.startsWith(COOKIE + "=;"), expired);
        assertTrue(expired.contains("; Max-Age=0"), expired);
        assertNotEquals(-1, expired.indexOf("; Path=/"), expired);
    }
}
