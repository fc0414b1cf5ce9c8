package dev.vertxsessions.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.MutableClock;
import dev.vertxsessions.SessionConfig;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Walks every route of the demo over real HTTP with a cookie-keeping client. Each backend extends this class with
 * the {@link SessionConfig} that selects it; backends that update atomically extend
 * {@link ServerSideDemoAppContractTest} instead, which adds parallel requests.
 */
@ExtendWith(VertxExtension.class)
abstract class DemoAppContractTest {

    static final String SECRET = "demo-test-secret-0123456789abcdef0123456789";
    static final String COOKIE = "session_id";

    @TempDir
    Path tempDir;

    Vertx vertx;
    MutableClock clock;
    SessionConfig config;
    DemoApp app;
    WebClient client;

    /** Returns the configuration that selects the backend under test; the test sets its clock. */
    abstract SessionConfig sessionConfig(Path tempDir);

    /** Returns whether sessions live on the server, so that a logout or a new key ends the old cookie for good. */
    abstract boolean storesSessionsOnServer();

    /** Returns how many sessions the store holds, when the test can look into the store. */
    OptionalInt storedSessions() {
        return OptionalInt.empty();
    }

    @BeforeEach
    void startDemo(Vertx vertx) {
        this.vertx = vertx;
        clock = new MutableClock(Instant.now().truncatedTo(ChronoUnit.SECONDS));
        config = sessionConfig(tempDir).setClock(clock);
        start();
    }

    @AfterEach
    void stopDemo() {
        stop();
    }

    private void start() {
        app = DemoApp.start(vertx, config, 0, 2).await();
        client = WebClient.create(
                vertx,
                new WebClientOptions()
                        .setDefaultHost("127.0.0.1")
                        .setDefaultPort(app.port())
                        .setFollowRedirects(false),
                new PoolOptions().setHttp1MaxSize(64));
    }

    private void stop() {
        if (client != null) {
            client.close();
        }
        if (app != null) {
            app.close().await();
        }
    }

    Browser browser() {
        return new Browser(() -> client);
    }

    /** Logs {@code username} in {@code times} times, each time from a new browser, checking each redirect. */
    void logInRepeatedly(String username, String password, int times) {
        for (int i = 0; i < times; i++) {
            logIn(browser(), username, password);
        }
    }

    /** Logs {@code browser} in and checks the redirect to the dashboard. */
    static HttpResponse<Buffer> logIn(Browser browser, String username, String password) {
        HttpResponse<Buffer> response = browser.postForm("/login", "username", username, "password", password);
        assertEquals(302, response.statusCode());
        assertEquals("/dashboard", response.getHeader("location"));
        return response;
    }

    static void assertRedirect(String location, HttpResponse<Buffer> response) {
        assertEquals(302, response.statusCode(), () -> "body: " + response.bodyAsString());
        assertEquals(location, response.getHeader("location"));
    }

    static void assertJson(int status, JsonObject expected, HttpResponse<Buffer> response) {
        assertEquals(status, response.statusCode(), () -> "body: " + response.bodyAsString());
        assertEquals("application/json", response.getHeader("content-type"));
        assertEquals(expected, response.bodyAsJsonObject());
    }

    static String html(HttpResponse<Buffer> response) {
        assertEquals(200, response.statusCode(), () -> "body: " + response.bodyAsString());
        assertEquals("text/html; charset=utf-8", response.getHeader("content-type"));
        return response.bodyAsString();
    }

    static String text(HttpResponse<Buffer> response) {
        assertEquals(200, response.statusCode(), () -> "body: " + response.bodyAsString());
        assertEquals("text/plain; charset=utf-8", response.getHeader("content-type"));
        return response.bodyAsString();
    }

    /**
     * Asserts that on a backend without a user index the "Your sessions" page says so with {@code reason} (200), and
     * its JSON and actions answer 501 with it, ending nothing.
     */
    void assertYourSessionsRefused(String reason) {
        Browser browser = browser();
        logIn(browser, "alice", "wonderland");
        String page = html(browser.getHtml("/account/sessions"));
        assertTrue(page.contains("<p class=\"error\">This session backend cannot list or end sessions.</p>"), page);
        assertTrue(page.contains("<p>Why: ") && page.contains(Pages.escape(reason)), page);
        String id = browser.cookie(COOKIE);
        assertFalse(page.contains(id), page);
        for (String path : List.of(
                "/account/sessions",
                "/account/sessions/end-others",
                "/account/sessions/end-all",
                "/account/sessions/0123456789abcdef/end")) {
            HttpResponse<Buffer> refused = path.equals("/account/sessions") ? browser.get(path) : browser.post(path);
            assertEquals(501, refused.statusCode(), path + ": " + refused.bodyAsString());
            assertEquals("application/json", refused.getHeader("content-type"), path);
            JsonObject json = refused.bodyAsJsonObject();
            assertEquals("This session backend cannot list or end sessions.", json.getString("error"), path);
            assertTrue(json.getString("reason").contains(reason), path + ": " + json.encode());
            assertNull(Browser.setCookie(refused, COOKIE), path);
        }
        HttpResponse<Buffer> form = browser.submitForm("/account/sessions/end-all");
        assertEquals(501, form.statusCode(), form::bodyAsString);
        assertTrue(form.bodyAsString().contains(Pages.escape(reason)), form::bodyAsString);
        assertTrue(html(browser.get("/dashboard")).contains("<h1>Welcome, alice!</h1>"), "a refusal logged out");
    }

    static JsonObject item(String name, double price, int quantity) {
        return new JsonObject().put("name", name).put("price", price).put("quantity", quantity);
    }

    // ------------------------------------------------------------------ cross-site requests

    @Test
    void crossSitePosts_withTheVictimsCookie_areRefused_sameSiteAndNonBrowserOnesPass(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            logIn(browser, "alice", "wonderland");
            String host = "127.0.0.1:" + app.port();
            for (String path : new String[] {"/banking/transfer", "/cart/add/p1", "/login", "/logout"}) {
                HttpResponse<Buffer> fetched =
                        browser.postWithHeaders(path, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example");
                assertEquals(403, fetched.statusCode(), path);
                assertEquals("Cross-site request refused.\n", fetched.bodyAsString());
                assertEquals(
                        403,
                        browser.postWithHeaders(path, "Origin", "https://evil.example")
                                .statusCode(),
                        path + ", an older browser that sends Origin only");
                assertEquals(
                        403,
                        browser.postWithHeaders(path, "Sec-Fetch-Site", "same-site")
                                .statusCode(),
                        path + ", a sibling subdomain");
                assertEquals(
                        403, browser.postWithHeaders(path, "Origin", "null").statusCode(), path + ", an opaque origin");
            }
            assertJson(
                    200,
                    new JsonObject().put("success", true),
                    browser.postWithHeaders(
                            "/banking/transfer", "Sec-Fetch-Site", "same-origin", "Origin", "http://" + host));
            assertJson(
                    200,
                    new JsonObject().put("success", true),
                    browser.postWithHeaders("/banking/transfer", "Origin", "http://" + host));
            assertJson(200, new JsonObject().put("success", true), browser.post("/banking/transfer"));
            assertEquals(200, browser.get("/dashboard").statusCode(), "the refused requests logged nobody out");
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ visit counter

    @Test
    void counter_countsVisitsPerBrowser(VertxTestContext test) {
        test.verify(() -> {
            Browser first = browser();
            Browser second = browser();
            assertEquals("You've visited this page 1 times", text(first.get("/")));
            assertEquals("You've visited this page 2 times", text(first.get("/")));
            assertEquals("You've visited this page 1 times", text(second.get("/")));
            assertEquals("You've visited this page 3 times", text(first.get("/")));
        });
        test.completeNow();
    }

    @Test
    void counter_setsSessionCookieWithSafeAttributes(VertxTestContext test) {
        test.verify(() -> {
            HttpResponse<Buffer> response = browser().get("/");
            String setCookie = Browser.setCookie(response, COOKIE);
            assertNotNull(setCookie, "no session cookie set");
            Duration anonymous = config.getAnonymousExpiry() != null ? config.getAnonymousExpiry() : config.getExpiry();
            assertTrue(setCookie.contains("; Max-Age=" + anonymous.toSeconds()), setCookie); // the demo: 1800
            assertTrue(setCookie.contains("; Path=/"), setCookie);
            assertTrue(setCookie.contains("; HTTPOnly"), setCookie);
            assertTrue(setCookie.contains("; SameSite=Lax"), setCookie);
            assertFalse(setCookie.contains("Secure;") || setCookie.endsWith("Secure"), setCookie);
        });
        test.completeNow();
    }

    @Test
    void login_promotesTheSessionToTheFullExpiry(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            browser.get("/");
            String setCookie = Browser.setCookie(logIn(browser, "alice", "wonderland"), COOKIE);
            assertNotNull(setCookie, "no session cookie set at login");
            assertTrue(setCookie.contains("; Max-Age=" + config.getExpiry().toSeconds()), setCookie);
        });
        test.completeNow();
    }

    @Test
    void root_showsBrowsersTheCountAndLinksToEveryExample(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            browser.get("/");
            String page = html(browser.getHtml("/"));
            assertTrue(page.contains("<h1>You&#39;ve visited this page 2 times</h1>"), page);
            for (String link : List.of("/session-demo", "/login", "/dashboard", "/shop", "/cart", "/wizard/step1")) {
                assertTrue(page.contains("href=\"" + link + "\""), link);
            }
        });
        test.completeNow();
    }

    @Test
    void tamperedCookie_startsFreshSession(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            browser.setCookie(COOKIE, "not-a-session-we-issued");
            assertEquals("You've visited this page 1 times", text(browser.get("/")));
            assertNotEquals("not-a-session-we-issued", browser.cookie(COOKIE));
            assertEquals("You've visited this page 2 times", text(browser.get("/")));
        });
        test.completeNow();
    }

    @Test
    void sessions_surviveARestartOfTheApp(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            logIn(browser, "alice", "wonderland");
            stop();
            start();
            assertTrue(html(browser.get("/dashboard")).contains("<h1>Welcome, alice!</h1>"));
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ session demo

    @Test
    void sessionDemo_listsKeysAndStoresLastVisit(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            assertJson(
                    200,
                    new JsonObject().putNull("user_id").put("session_keys", JsonArray.of("last_visit")),
                    browser.get("/session-demo"));
            browser.get("/");
            assertJson(
                    200,
                    new JsonObject().putNull("user_id").put("session_keys", JsonArray.of("last_visit", "counter")),
                    browser.get("/session-demo"));
        });
        test.completeNow();
    }

    @Test
    void sessionDemo_afterLogin_showsUserId(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            logIn(browser, "bob", "builder");
            assertJson(
                    200,
                    new JsonObject()
                            .put("user_id", 2)
                            .put(
                                    "session_keys",
                                    JsonArray.of("user_id", "username", "auth_time", "is_admin", "last_visit")),
                    browser.get("/session-demo"));
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ login flow

    @Test
    void loginPage_showsFormAndEscapedMessages(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            String page = html(browser.get("/login"));
            assertTrue(page.contains("<form method=\"post\" action=\"/login\">"), page);
            assertTrue(page.contains("name=\"username\""), page);
            assertTrue(page.contains("name=\"password\" type=\"password\""), page);
            assertTrue(
                    page.contains("href=\"/dashboard\"")
                            && page.contains("href=\"/shop\"")
                            && page.contains("href=\"/wizard/step1\""),
                    page);
            assertTrue(html(browser.get("/login?error=invalid_credentials")).contains("Wrong username or password."));
            assertTrue(html(browser.get("/login?message=logged_out")).contains("You have been logged out."));
            String hostile = html(browser.get("/login?error=%3Cscript%3Ealert(1)%3C/script%3E&message=%22%3E%3Cb%3E"));
            assertTrue(hostile.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), hostile);
            assertTrue(hostile.contains("&quot;&gt;&lt;b&gt;"), hostile);
            assertFalse(hostile.contains("<script>") || hostile.contains("\"><b>"), hostile);
        });
        test.completeNow();
    }

    @Test
    void login_withWrongCredentials_redirectsWithErrorAndStartsNoSession(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            for (String[] credentials : new String[][] {{"alice", "builder"}, {"carol", "wonderland"}, {"alice", ""}}) {
                HttpResponse<Buffer> response =
                        browser.postForm("/login", "username", credentials[0], "password", credentials[1]);
                assertRedirect("/login?error=invalid_credentials", response);
                assertNull(Browser.setCookie(response, COOKIE));
            }
            assertRedirect("/login?error=invalid_credentials", browser.post("/login"));
            assertRedirect("/login", browser.get("/dashboard"));
        });
        test.completeNow();
    }

    @Test
    void login_givesANewSessionKeyKeepsTheDataAndShowsTheDashboard(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            browser.get("/");
            String before = browser.cookie(COOKIE);
            HttpResponse<Buffer> login = logIn(browser, "alice", "wonderland");
            String after = Browser.setCookie(login, COOKIE);
            assertNotNull(after, "login set no cookie");
            assertNotEquals(before, browser.cookie(COOKIE));
            // The redirect came after the save completed: the store already holds the new session, and only it.
            storedSessions().ifPresent(count -> assertEquals(1, count));
            String dashboard = html(browser.get("/dashboard"));
            assertTrue(dashboard.contains("<h1>Welcome, alice!</h1>"), dashboard);
            assertTrue(dashboard.contains("You are an administrator."), dashboard);
            assertTrue(dashboard.contains("<form method=\"post\" action=\"/logout\">"), dashboard);
            assertTrue(dashboard.contains("href=\"/shop\"") && dashboard.contains("href=\"/wizard/step1\""), dashboard);
            assertEquals("You've visited this page 2 times", text(browser.get("/")));
            if (storesSessionsOnServer()) {
                Browser withOldKey = browser();
                withOldKey.setCookie(COOKIE, before);
                assertEquals("You've visited this page 1 times", text(withOldKey.get("/")));
            }
        });
        test.completeNow();
    }

    @Test
    void dashboard_withoutLogin_redirectsToLogin(VertxTestContext test) {
        test.verify(() -> {
            assertRedirect("/login", browser().get("/dashboard"));
        });
        test.completeNow();
    }

    @Test
    void dashboard_ofANonAdministrator_saysNothingAboutAdministration(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            logIn(browser, "bob", "builder");
            String dashboard = html(browser.get("/dashboard"));
            assertTrue(dashboard.contains("<h1>Welcome, bob!</h1>"), dashboard);
            assertFalse(dashboard.contains("administrator."), dashboard);
        });
        test.completeNow();
    }

    @Test
    void health_reportsTheSessionStoreUp_withoutASession(VertxTestContext test) {
        test.verify(() -> {
            HttpResponse<Buffer> health = browser().get("/health");
            assertEquals(200, health.statusCode());
            assertEquals("UP", health.bodyAsJsonObject().getString("outcome"));
            assertEquals(
                    "sessions",
                    health.bodyAsJsonObject()
                            .getJsonArray("checks")
                            .getJsonObject(0)
                            .getString("id"));
            assertNull(Browser.setCookie(health, COOKIE));
        });
        test.completeNow();
    }

    @Test
    void logout_clearsTheSessionAndExpiresTheCookie(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            logIn(browser, "alice", "wonderland");
            String loggedIn = browser.cookie(COOKIE);
            HttpResponse<Buffer> logout = browser.post("/logout");
            assertRedirect("/login?message=logged_out", logout);
            // Empties Chromium's back-forward cache, which may keep a no-store page (samples/browser/check.sh).
            assertEquals("\"cache\"", logout.getHeader("clear-site-data"));
            String expired = Browser.setCookie(logout, COOKIE);
            assertNotNull(expired, "logout did not expire the cookie");
            assertTrue(expired.startsWith(COOKIE + "=;"), expired);
            assertTrue(expired.contains("; Max-Age=0"), expired);
            assertTrue(expired.contains("; Path=/"), expired);
            assertNull(browser.cookie(COOKIE));
            storedSessions().ifPresent(count -> assertEquals(0, count));
            assertRedirect("/login", browser.get("/dashboard"));
            if (storesSessionsOnServer()) {
                Browser replaying = browser();
                replaying.setCookie(COOKIE, loggedIn);
                assertRedirect("/login", replaying.get("/dashboard"));
            }
        });
        test.completeNow();
    }

    @Test
    void logout_withoutASession_justRedirects(VertxTestContext test) {
        test.verify(() -> {
            HttpResponse<Buffer> logout = browser().post("/logout");
            assertRedirect("/login?message=logged_out", logout);
            assertNull(Browser.setCookie(logout, COOKIE));
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ re-authentication check

    @Test
    void transfer_needsALoginLessThanFiveMinutesOld(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            assertRedirect("/re-authenticate", browser.post("/banking/transfer"));
            logIn(browser, "bob", "builder");
            assertJson(200, new JsonObject().put("success", true), browser.post("/banking/transfer"));
            clock.advance(Duration.ofSeconds(300));
            assertJson(200, new JsonObject().put("success", true), browser.post("/banking/transfer"));
            clock.advance(Duration.ofSeconds(1));
            assertRedirect("/re-authenticate", browser.post("/banking/transfer"));
            String page = html(browser.get("/re-authenticate"));
            assertTrue(page.contains("<a href=\"/login\">Log in again</a>"), page);
            logIn(browser, "bob", "builder");
            assertJson(200, new JsonObject().put("success", true), browser.post("/banking/transfer"));
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ shopping cart

    @Test
    void cart_addsViewsAndClears(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            assertJson(200, new JsonObject().put("items", new JsonObject()).put("total", 0.0), browser.get("/cart"));
            assertJson(
                    200,
                    new JsonObject()
                            .put("success", true)
                            .put("cart", new JsonObject().put("p1", item("Vert.x mug", 12.5, 1))),
                    browser.post("/cart/add/p1"));
            assertJson(
                    200,
                    new JsonObject()
                            .put("success", true)
                            .put("cart", new JsonObject().put("p1", item("Vert.x mug", 12.5, 3))),
                    browser.post("/cart/add/p1?quantity=2"));
            assertJson(
                    200,
                    new JsonObject()
                            .put("success", true)
                            .put(
                                    "cart",
                                    new JsonObject()
                                            .put("p1", item("Vert.x mug", 12.5, 3))
                                            .put("p3", item("Event loop T-shirt", 19.99, 1))),
                    browser.post("/cart/add/p3"));
            assertJson(
                    200,
                    new JsonObject()
                            .put(
                                    "items",
                                    new JsonObject()
                                            .put("p1", item("Vert.x mug", 12.5, 3))
                                            .put("p3", item("Event loop T-shirt", 19.99, 1)))
                            .put("total", 57.49),
                    browser.get("/cart"));
            assertJson(200, new JsonObject().put("success", true), browser.post("/cart/clear"));
            assertJson(200, new JsonObject().put("items", new JsonObject()).put("total", 0.0), browser.get("/cart"));
        });
        test.completeNow();
    }

    @Test
    void cartAdd_refusesBadQuantitiesAndUnknownProducts(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            JsonObject badQuantity = new JsonObject().put("error", "quantity must be a whole number of at least 1");
            for (String quantity : List.of("abc", "0", "-1", "1.5", "", "99999999999")) {
                assertJson(400, badQuantity, browser.post("/cart/add/p1?quantity=" + quantity));
            }
            assertJson(404, new JsonObject().put("error", "Product not found"), browser.post("/cart/add/p9"));
            assertJson(200, new JsonObject().put("items", new JsonObject()).put("total", 0.0), browser.get("/cart"));
        });
        test.completeNow();
    }

    @Test
    void shop_postsFormsToTheCart(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            String shop = html(browser.get("/shop"));
            for (String product : List.of("p1", "p2", "p3")) {
                assertTrue(shop.contains("<form method=\"post\" action=\"/cart/add/" + product + "\">"), shop);
            }
            assertTrue(
                    shop.contains("href=\"/cart\"")
                            && shop.contains("href=\"/login\"")
                            && shop.contains("href=\"/dashboard\"")
                            && shop.contains("href=\"/wizard/step1\""),
                    shop);
            assertJson(
                    200,
                    new JsonObject()
                            .put("success", true)
                            .put("cart", new JsonObject().put("p2", item("Session cookie jar", 4.99, 2))),
                    browser.postForm("/cart/add/p2", "quantity", "2"));
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ pages for browsers

    static final String BACK_LINKS =
            "<p><a href=\"/shop\">Back to the shop</a> | <a href=\"/dashboard\">Your dashboard</a></p>";

    static void assertSeeOther(String location, HttpResponse<Buffer> response) {
        assertEquals(303, response.statusCode(), () -> "body: " + response.bodyAsString());
        assertEquals(location, response.getHeader("location"));
        assertEquals(0, response.body() == null ? 0 : response.body().length(), "no body");
    }

    /** Returns the navigation bar of an HTML page. */
    static String nav(String page) {
        int start = page.indexOf("<nav>");
        int end = page.indexOf("</nav>");
        assertTrue(start >= 0 && end > start, page);
        return page.substring(start, end + "</nav>".length());
    }

    @Test
    void cartAdd_fromABrowserForm_seesOtherToTheCartPage_withLinksBack(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            assertSeeOther("/cart", browser.submitForm("/cart/add/p2", "quantity", "2"));
            assertSeeOther("/cart", browser.submitForm("/cart/add/p1"));
            String cart = html(browser.getHtml("/cart"));
            assertTrue(cart.contains("<h1>Your cart</h1>"), cart);
            assertTrue(cart.contains("<tr><td>Session cookie jar</td><td>4.99</td><td>2</td><td>9.98</td></tr>"), cart);
            assertTrue(cart.contains("<tr><td>Vert.x mug</td><td>12.50</td><td>1</td><td>12.50</td></tr>"), cart);
            assertTrue(cart.contains("<tr><th colspan=\"3\">Total</th><th>22.48</th></tr>"), cart);
            assertTrue(cart.contains("<form method=\"post\" action=\"/cart/clear\">"), cart);
            assertTrue(cart.contains(BACK_LINKS), cart);
            // API clients see the same cart as JSON, as before.
            JsonObject items = new JsonObject()
                    .put("p2", item("Session cookie jar", 4.99, 2))
                    .put("p1", item("Vert.x mug", 12.5, 1));
            assertJson(200, new JsonObject().put("items", items).put("total", 22.48), browser.get("/cart"));
            assertJson(
                    200,
                    new JsonObject().put("items", items).put("total", 22.48),
                    browser.getWithHeaders("/cart", "Accept", "application/json"));
        });
        test.completeNow();
    }

    @Test
    void cartClear_fromABrowserForm_seesOtherToTheEmptyCartPage(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            browser.post("/cart/add/p3");
            assertSeeOther("/cart", browser.submitForm("/cart/clear"));
            String cart = html(browser.getHtml("/cart"));
            assertTrue(cart.contains("<h1>Your cart</h1>\n<p>Your cart is empty.</p>\n" + BACK_LINKS), cart);
            assertJson(200, new JsonObject().put("items", new JsonObject()).put("total", 0.0), browser.get("/cart"));
        });
        test.completeNow();
    }

    @Test
    void cartAdd_refusedForABrowser_answersAPageWithTheStatusAndAWayBack(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            HttpResponse<Buffer> badQuantity = browser.submitForm("/cart/add/p1", "quantity", "0");
            assertEquals(400, badQuantity.statusCode());
            assertEquals("text/html; charset=utf-8", badQuantity.getHeader("content-type"));
            assertTrue(
                    badQuantity
                            .bodyAsString()
                            .contains("<h1>Nothing was added to your cart</h1>\n"
                                    + "<p class=\"error\">quantity must be a whole number of at least 1</p>"
                                    + BACK_LINKS),
                    badQuantity.bodyAsString());
            HttpResponse<Buffer> unknown = browser.submitForm("/cart/add/p9");
            assertEquals(404, unknown.statusCode());
            assertEquals("text/html; charset=utf-8", unknown.getHeader("content-type"));
            assertTrue(
                    unknown.bodyAsString().contains("<p class=\"error\">Product not found</p>" + BACK_LINKS),
                    unknown.bodyAsString());
            assertJson(
                    400,
                    new JsonObject().put("error", "quantity must be a whole number of at least 1"),
                    browser.postWithHeaders("/cart/add/p1?quantity=0", "Accept", "application/json"));
        });
        test.completeNow();
    }

    @Test
    void transfer_fromABrowserForm_seesOtherToTheDashboard_whichSaysSo(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            logIn(browser, "alice", "wonderland");
            assertSeeOther("/dashboard?message=transferred", browser.submitForm("/banking/transfer"));
            String dashboard = html(browser.getHtml("/dashboard?message=transferred"));
            assertTrue(
                    dashboard.contains("<h1>Welcome, alice!</h1>\n<p class=\"message\">Money transferred.</p>"),
                    dashboard);
            assertFalse(html(browser.getHtml("/dashboard")).contains("Money transferred."));
            assertJson(
                    200,
                    new JsonObject().put("success", true),
                    browser.postWithHeaders("/banking/transfer", "Accept", "application/json"));
            clock.advance(Duration.ofSeconds(301));
            assertRedirect("/re-authenticate", browser.submitForm("/banking/transfer"));
        });
        test.completeNow();
    }

    @Test
    void navigation_showsTheUserAndALogOutButton_whenLoggedIn_andLogInOtherwise(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            String logIn = "<a href=\"/login\">Log in</a></nav>";
            String logOut =
                    "<form method=\"post\" action=\"/logout\"><button type=\"submit\">Log out</button></form></nav>";
            String anonymous = nav(html(browser.getHtml("/shop")));
            assertTrue(anonymous.endsWith(logIn), anonymous);
            assertFalse(anonymous.contains("/logout"), anonymous);

            logIn(browser, "alice", "wonderland");
            for (String page : List.of("/", "/dashboard", "/shop", "/cart", "/wizard/step1", "/login")) {
                String loggedIn = nav(html(browser.getHtml(page)));
                assertTrue(loggedIn.endsWith("<span class=\"user\">alice</span> " + logOut), page + ": " + loggedIn);
                assertFalse(loggedIn.contains("href=\"/login\""), page + ": " + loggedIn);
            }

            assertRedirect("/login?message=logged_out", browser.submitForm("/logout"));
            String afterLogout = nav(html(browser.getHtml("/login?message=logged_out")));
            assertTrue(afterLogout.endsWith(logIn), afterLogout);
        });
        test.completeNow();
    }

    @Test
    void favicon_isACacheableSvg_servedWithoutTouchingTheSession(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            logIn(browser, "alice", "wonderland");
            String page = html(browser.getHtml("/dashboard"));
            assertTrue(page.contains("<link rel=\"icon\" type=\"image/svg+xml\" href=\"/favicon.svg\">"), page);
            for (String path : List.of("/favicon.ico", "/favicon.svg")) {
                HttpResponse<Buffer> icon = browser.get(path);
                assertEquals(200, icon.statusCode(), path);
                assertEquals("image/svg+xml", icon.getHeader("content-type"), path);
                assertEquals("public, max-age=86400", icon.getHeader("cache-control"), path);
                assertTrue(icon.bodyAsString().startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\""), path);
                assertEquals(List.of(), icon.headers().getAll("set-cookie"), path);
            }
            HttpResponse<Buffer> anonymous = browser().get("/favicon.ico");
            assertEquals(200, anonymous.statusCode());
            assertEquals(List.of(), anonymous.headers().getAll("set-cookie"));
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ multi-step wizard

    @Test
    void wizard_walksThroughThreeStepsAndForgetsTheAnswers(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = browser();
            assertRedirect("/wizard/step1", browser.get("/wizard/step2"));
            assertRedirect("/wizard/step1", browser.get("/wizard/confirm"));
            String step1 = html(browser.get("/wizard/step1"));
            assertTrue(step1.contains("<form method=\"post\" action=\"/wizard/step1\">"), step1);
            assertTrue(step1.contains("href=\"/login\"") && step1.contains("href=\"/shop\""), step1);

            assertRedirect("/wizard/step1?error=invalid_data", browser.postForm("/wizard/step1", "name", "Ada"));
            assertRedirect(
                    "/wizard/step1?error=invalid_data",
                    browser.postForm("/wizard/step1", "name", "Ada", "email", "not-an-email"));
            assertRedirect(
                    "/wizard/step1?error=invalid_data",
                    browser.postForm("/wizard/step1", "name", " ", "email", "ada@example.com"));
            assertTrue(html(browser.get("/wizard/step1?error=invalid_data")).contains("Please check your answers."));

            assertRedirect(
                    "/wizard/step2",
                    browser.postForm("/wizard/step1", "name", "Ada <Lovelace>", "email", "ada@example.com"));
            assertTrue(html(browser.get("/wizard/step1")).contains("value=\"Ada &lt;Lovelace&gt;\""));
            String step2 = html(browser.get("/wizard/step2"));
            assertTrue(step2.contains("Hello Ada &lt;Lovelace&gt;, choose a plan."), step2);
            assertTrue(step2.contains("<form method=\"post\" action=\"/wizard/step2\">"), step2);
            assertRedirect("/wizard/step2?error=invalid_data", browser.postForm("/wizard/step2", "plan", "gold"));
            assertRedirect("/wizard/step2?error=invalid_data", browser.post("/wizard/step2"));
            assertRedirect("/wizard/confirm", browser.postForm("/wizard/step2", "plan", "pro"));

            String confirm = html(browser.get("/wizard/confirm"));
            assertTrue(confirm.contains("<li>Name: Ada &lt;Lovelace&gt;</li>"), confirm);
            assertTrue(confirm.contains("<li>Email: ada@example.com</li>"), confirm);
            assertTrue(confirm.contains("<li>Plan: pro</li>"), confirm);
            assertTrue(confirm.contains("<form method=\"post\" action=\"/wizard/complete\">"), confirm);

            HttpResponse<Buffer> complete = browser.post("/wizard/complete");
            assertEquals(302, complete.statusCode());
            String location = complete.getHeader("location");
            assertTrue(location.matches("/wizard/success\\?id=[0-9a-f]{12}"), location);
            assertJson(
                    200,
                    new JsonObject().putNull("user_id").put("session_keys", JsonArray.of("last_visit")),
                    browser.get("/session-demo"));
            String success = html(browser.get(location));
            assertTrue(
                    success.contains("<strong>" + location.substring(location.indexOf('=') + 1) + "</strong>"),
                    success);
            assertRedirect("/wizard/step1", browser.post("/wizard/complete"));
        });
        test.completeNow();
    }
}
