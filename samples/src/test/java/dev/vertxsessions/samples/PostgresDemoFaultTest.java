package dev.vertxsessions.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.vertxsessions.BackendRecorder;
import dev.vertxsessions.SessionBackend;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.samples.postgres.LockHolder;
import dev.vertxsessions.samples.postgres.PostgresServer;
import dev.vertxsessions.samples.postgres.PostgresSessionBackend;
import dev.vertxsessions.samples.postgres.PostgresSessionOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The demo on the PostgreSQL backend when the store misbehaves, as an outside tester found it: a row locked by
 * another transaction past {@code backend_timeout_ms} (500 ms here, the lock held 1.5 s), and a value PostgreSQL
 * cannot store. Every answer is the truth: a 503 means nothing was written (and nothing is written later), a write
 * that cannot be stored answers 500 without a cookie.
 */
@ExtendWith({VertxExtension.class, PostgresServer.Extension.class})
class PostgresDemoFaultTest {

    private static final Duration LOCK_HELD = Duration.ofMillis(1500);
    private static final String UNAVAILABLE =
            "The session store is unavailable right now; please try again in a moment.\n";

    private Vertx vertx;
    private PostgresServer postgres;
    private String table;
    private DemoApp app;
    private WebClient client;

    @BeforeEach
    void startDemo(Vertx vertx, PostgresServer postgres) {
        this.vertx = vertx;
        this.postgres = postgres;
        table = PostgresServer.uniqueTable("demo_fault");
        // The middleware bounds the backend's start by backend_timeout_ms too: create the table first, with the
        // default timeout, so that the demo's start below only checks it, well within 500 ms.
        SessionBackend creator = PostgresSessionBackend.factory(
                        PostgresSessionOptions.of(postgres.url()).withTable(table))
                .create(vertx, new SessionConfig());
        creator.start(BackendRecorder.NONE).await();
        creator.close().await();
        SessionConfig config = DemoSettings.fromEnv(
                        Map.of("SESSION_BACKEND", "postgres", "DATABASE_URL", postgres.url()))
                .sessionConfig()
                .setBackendTimeout(Duration.ofMillis(500));
        JsonObject options =
                config.getBackendOptions().getJsonObject("postgres").put("table", table);
        config.setBackendOption("postgres", options);
        app = DemoApp.start(vertx, config, 0, 1).await();
        client = WebClient.create(
                vertx,
                new WebClientOptions()
                        .setDefaultHost("127.0.0.1")
                        .setDefaultPort(app.port())
                        .setFollowRedirects(false),
                new PoolOptions().setHttp1MaxSize(8));
    }

    @AfterEach
    void stopDemo() {
        if (client != null) {
            client.close();
        }
        if (app != null) {
            app.close().await();
        }
    }

    /** Another transaction locks the browser's session row (FOR UPDATE) and commits, unchanged, after 1.5 s. */
    private Future<Void> lockSessionRow(Browser browser) {
        String id = browser.cookie("session_id");
        assertNotNull(id, "the browser has a session");
        return LockHolder.take(vertx, postgres, "SELECT 1 FROM " + table + " WHERE id = '" + id + "' FOR UPDATE")
                .releaseAfter(LOCK_HELD, true, table);
    }

    private String storedIds() throws Exception {
        return postgres.psql("SELECT id FROM " + table + " ORDER BY id");
    }

    private static void assertUnavailable(HttpResponse<Buffer> response) {
        assertEquals(503, response.statusCode());
        assertEquals(UNAVAILABLE, response.bodyAsString());
        assertNull(Browser.setCookie(response, "session_id"), "no cookie with a 503");
    }

    private static int mugs(HttpResponse<Buffer> cart) {
        assertEquals(200, cart.statusCode());
        return cart.bodyAsJsonObject()
                .getJsonObject("items")
                .getJsonObject("p1")
                .getInteger("quantity");
    }

    @Test
    void cartAdd_whileTheSessionRowIsLocked_answers503_andIsNeverAppliedLater(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = new Browser(() -> client);
            assertEquals(200, browser.post("/cart/add/p1").statusCode());
            Future<Void> released = lockSessionRow(browser);

            assertUnavailable(browser.post("/cart/add/p1"));
            released.await();
            assertEquals(1, mugs(browser.get("/cart")), "the add that answered 503 was not applied after the lock");
        });
        test.completeNow();
    }

    @Test
    void logout_whileTheSessionRowIsLocked_answers503_andTheUserStaysLoggedIn(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = new Browser(() -> client);
            DemoAppContractTest.logIn(browser, "alice", "wonderland");
            String session = browser.cookie("session_id");
            Future<Void> released = lockSessionRow(browser);

            assertUnavailable(browser.post("/logout"));
            released.await();
            assertEquals(session, browser.cookie("session_id"));
            HttpResponse<Buffer> dashboard = browser.get("/dashboard");
            assertEquals(200, dashboard.statusCode(), "a logout that answered 503 did not log the user out later");
        });
        test.completeNow();
    }

    @Test
    void login_whileThePreLoginRowIsLocked_answers503_andTheCartStaysWithTheBrowsersCookie(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = new Browser(() -> client);
            assertEquals(200, browser.post("/cart/add/p1").statusCode());
            String preLogin = browser.cookie("session_id");
            Future<Void> released = lockSessionRow(browser);

            HttpResponse<Buffer> login = browser.postForm("/login", "username", "alice", "password", "wonderland");
            assertUnavailable(login);
            released.await();
            assertEquals(preLogin, storedIds(), "the pre-login row did not move to an ID the browser never got");
            assertEquals(1, mugs(browser.get("/cart")));
            assertEquals(302, browser.get("/dashboard").statusCode(), "not logged in");
        });
        test.completeNow();
    }

    @Test
    void wizardAnswer_withANulCharacter_answers500WithoutACookie_andStoresNothing(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = new Browser(() -> client);
            HttpResponse<Buffer> step1 =
                    browser.postForm("/wizard/step1", "name", "Ada\u0000Lovelace", "email", "ada@example.com");

            assertEquals(500, step1.statusCode());
            assertNull(Browser.setCookie(step1, "session_id"), "no cookie for a session that was not stored");
            assertEquals("", storedIds());
        });
        test.completeNow();
    }

    @Test
    void wizardAnswer_withANulCharacter_whenLoggedIn_answers500_andKeepsTheSessionAsItWas(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = new Browser(() -> client);
            DemoAppContractTest.logIn(browser, "alice", "wonderland");
            String session = browser.cookie("session_id");
            HttpResponse<Buffer> step1 =
                    browser.postForm("/wizard/step1", "name", "Ada\u0000Lovelace", "email", "ada@example.com");

            assertEquals(500, step1.statusCode());
            assertNull(Browser.setCookie(step1, "session_id"));
            assertEquals(session, storedIds());
            assertEquals("f", postgres.psql("SELECT data ? 'wizard_data' FROM " + table));
            assertEquals(200, browser.get("/dashboard").statusCode(), "still logged in");
        });
        test.completeNow();
    }
}
