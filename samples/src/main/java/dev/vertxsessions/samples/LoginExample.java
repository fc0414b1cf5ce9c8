package dev.vertxsessions.samples;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionMiddleware;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.Map;

/**
 * The seed guide's "User Authentication Flow" and "Use Appropriate Session Expiration": log in, a dashboard for
 * logged-in users, log out, and a money transfer that asks for a login less than five minutes old.
 */
final class LoginExample {

    /** How recent a login must be for a sensitive operation. */
    static final long REAUTHENTICATE_AFTER_SECONDS = 300;

    /** A demo user; a real application checks a password hash in its user store. */
    record User(int id, String username, String password, boolean isAdmin) {}

    static final Map<String, User> USERS = Map.of(
            "alice", new User(1, "alice", "wonderland", true),
            "bob", new User(2, "bob", "builder", false));

    private LoginExample() {}

    static void mount(Router router, Clock clock) {
        router.get("/login").handler(LoginExample::loginPage);
        router.post("/login").handler(ctx -> login(ctx, clock));
        router.get("/dashboard").handler(ctx -> dashboard(ctx, clock));
        router.post("/logout").handler(LoginExample::logout);
        router.post("/banking/transfer").handler(ctx -> transfer(ctx, clock));
        router.get("/re-authenticate").handler(LoginExample::reauthenticatePage);
    }

    private static void loginPage(RoutingContext ctx) {
        String error = ctx.request().getParam("error");
        String message = ctx.request().getParam("message");
        Pages.html(
                ctx,
                "Log in",
                "<h1>Log in</h1>\n"
                        + Pages.notice(
                                "error", "invalid_credentials".equals(error) ? "Wrong username or password." : error)
                        + Pages.notice("message", "logged_out".equals(message) ? "You have been logged out." : message)
                        + "<form method=\"post\" action=\"/login\">\n"
                        + "<label>Username <input name=\"username\" autocomplete=\"username\" required></label>\n"
                        + "<label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required>"
                        + "</label>\n<button type=\"submit\">Log in</button>\n</form>\n"
                        + "<p>Demo users: <code>alice</code> / <code>wonderland</code> (administrator), "
                        + "<code>bob</code> / <code>builder</code>.</p>");
    }

    /**
     * POST /login stores the user in the session under a new session key (against session fixation) and waits until
     * the session is durably saved before redirecting, so the dashboard request that follows finds it, even on
     * another server.
     */
    private static void login(RoutingContext ctx, Clock clock) {
        User user = authenticate(
                ctx.request().getFormAttribute("username"), ctx.request().getFormAttribute("password"));
        if (user == null) {
            Pages.redirect(ctx, "/login?error=invalid_credentials");
            return;
        }
        BaseSessionInterface session = SessionMiddleware.session(ctx);
        session.regenerate().setPrincipal(user.username()); // indexed, and counted by SESSION_MAX_PER_USER
        session.put("user_id", user.id());
        session.put("username", user.username());
        session.put("auth_time", clock.instant().getEpochSecond());
        session.put("is_admin", user.isAdmin());
        session.commit().onComplete(saved -> {
            if (saved.succeeded()) {
                Pages.redirect(ctx, "/dashboard");
            } else {
                Pages.sessionFailure(ctx, saved.cause());
            }
        });
    }

    private static void dashboard(RoutingContext ctx, Clock clock) {
        BaseSessionInterface session = SessionMiddleware.session(ctx);
        if (!session.containsKey("user_id")) {
            Pages.redirect(ctx, "/login");
            return;
        }
        String username = session.get("username");
        long authAge = clock.instant().getEpochSecond()
                - session.<Number>get("auth_time", 0).longValue();
        Pages.html(
                ctx,
                "Dashboard",
                "<h1>Welcome, " + Pages.escape(username) + "!</h1>\n"
                        + ("transferred".equals(ctx.request().getParam("message"))
                                ? Pages.notice("message", "Money transferred.")
                                : "")
                        + (Boolean.TRUE.equals(session.get("is_admin"))
                                ? "<p>You are an administrator.</p>\n<p>See <a href=\"" + AdminSessionsExample.PAGE
                                        + "\">everyone's sessions</a>.</p>\n"
                                : "")
                        + "<p>You logged in " + authAge + " seconds ago.</p>\n"
                        + "<p>Go <a href=\"/shop\">shopping</a>, fill in the <a href=\"/wizard/step1\">wizard</a>, "
                        + "or look at your <a href=\"/session-demo\">session</a>.</p>\n"
                        + "<p>Logged in elsewhere too? See <a href=\"" + AccountSessionsExample.PAGE
                        + "\">your sessions</a> and log other devices out.</p>\n"
                        + "<form method=\"post\" action=\"/banking/transfer\"><button type=\"submit\">Transfer money</button> "
                        + "(allowed within " + REAUTHENTICATE_AFTER_SECONDS / 60 + " minutes of logging in)</form>\n"
                        + "<p>Log out with the button at the top of every page.</p>");
    }

    /**
     * POST /logout empties the session: the middleware deletes it from the store and expires the cookie. Like login,
     * it waits for the store before redirecting, so no server can still see the session afterwards. Its
     * {@code Clear-Site-Data: "cache"} keeps the Back button from showing the logged-out pages.
     */
    private static void logout(RoutingContext ctx) {
        BaseSessionInterface session = SessionMiddleware.session(ctx);
        session.clear();
        session.commit().onComplete(deleted -> {
            if (deleted.succeeded()) {
                // The session's pages went out with Cache-Control: no-store, but Chromium may still keep one in its
                // back-forward cache; this header empties that cache (and the HTTP cache) for the site.
                ctx.response().putHeader("clear-site-data", "\"cache\"");
                Pages.redirect(ctx, "/login?message=logged_out");
            } else {
                Pages.sessionFailure(ctx, deleted.cause());
            }
        });
    }

    /**
     * POST /banking/transfer is a sensitive operation: it needs a recent login. It answers {@code {"success": true}},
     * or, to a browser's form, {@code 303 See Other} back to the dashboard, which says the money was transferred.
     */
    private static void transfer(RoutingContext ctx, Clock clock) {
        BaseSessionInterface session = SessionMiddleware.session(ctx);
        long authTime = session.<Number>get("auth_time", 0).longValue();
        if (clock.instant().getEpochSecond() - authTime > REAUTHENTICATE_AFTER_SECONDS) {
            Pages.redirect(ctx, "/re-authenticate");
            return;
        }
        // A real application would move the money here.
        if (Pages.wantsHtml(ctx)) {
            Pages.seeOther(ctx, "/dashboard?message=transferred"); // a browser's form: back to the dashboard
        } else {
            Pages.json(ctx, new JsonObject().put("success", true));
        }
    }

    private static void reauthenticatePage(RoutingContext ctx) {
        Pages.html(
                ctx,
                "Log in again",
                "<h1>Please log in again</h1>\n"
                        + "<p>Transfers need a login less than " + REAUTHENTICATE_AFTER_SECONDS / 60
                        + " minutes old.</p>\n"
                        + "<p><a href=\"/login\">Log in again</a></p>");
    }

    /** Returns the user with these credentials, or null. Compares passwords in constant time. */
    static User authenticate(String username, String password) {
        User user = username == null ? null : USERS.get(username);
        if (user == null || password == null) {
            return null;
        }
        boolean matches = MessageDigest.isEqual(
                user.password().getBytes(StandardCharsets.UTF_8), password.getBytes(StandardCharsets.UTF_8));
        return matches ? user : null;
    }
}
