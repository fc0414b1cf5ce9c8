package dev.vertxsessions.samples;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionMiddleware;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Clock;

/**
 * The seed guide's first examples: the visit counter ("Basic Session Setup") and the session demo ("Basic Session
 * Operations").
 */
final class BasicExamples {

    private BasicExamples() {}

    static void mount(Router router, Clock clock) {
        router.get("/").handler(BasicExamples::counter);
        router.get("/session-demo").handler(ctx -> sessionDemo(ctx, clock));
    }

    /**
     * GET / counts this browser's visits. {@code increment} is an atomic read-modify-write in the store, so parallel
     * requests of one browser each count (with the file and Redis backends).
     */
    private static void counter(RoutingContext ctx) {
        BaseSessionInterface session = SessionMiddleware.session(ctx);
        session.increment("counter").onComplete(ar -> {
            if (ar.failed()) {
                Pages.sessionFailure(ctx, ar.cause());
                return;
            }
            String text = "You've visited this page " + ar.result() + " times";
            if (Pages.wantsHtml(ctx)) {
                // A browser gets the same sentence on a page that links to every example.
                Pages.html(ctx, "Home", "<h1>" + Pages.escape(text) + "</h1>\n" + INDEX);
            } else {
                ctx.response()
                        .putHeader("content-type", "text/plain; charset=utf-8")
                        .end(text);
            }
        });
    }

    /** GET /session-demo shows the map-like operations of a session and answers with what it holds. */
    private static void sessionDemo(RoutingContext ctx, Clock clock) {
        BaseSessionInterface session = SessionMiddleware.session(ctx);
        Object userId = session.get("user_id"); // null when absent (get(key, null) would pick get(key, Class))
        session.put("last_visit", clock.instant().getEpochSecond());
        if (session.containsKey("temporary_data")) {
            session.remove("temporary_data");
        }
        // session.clear() would empty the whole session (and delete it: that is logout).
        Pages.json(
                ctx,
                new JsonObject()
                        .put("user_id", userId)
                        .put(
                                "session_keys",
                                new JsonArray(session.keys().stream().toList())));
    }

    private static final String INDEX = "<p>Reload to count again: the count lives in your session.</p>\n"
            + "<h2>Examples</h2>\n<ul>\n"
            + "<li><a href=\"/session-demo\">Session demo</a>: the keys your session holds (JSON)</li>\n"
            + "<li><a href=\"/login\">Login flow</a>: log in as alice/wonderland or bob/builder, see the dashboard, "
            + "log out</li>\n"
            + "<li><a href=\"/dashboard\">Re-authentication check</a>: the dashboard's money transfer needs a login "
            + "less than 5 minutes old</li>\n"
            + "<li><a href=\"/shop\">Shopping cart</a>: add products, <a href=\"/cart\">view the cart</a> (a page for "
            + "browsers, JSON for API clients)</li>\n"
            + "<li><a href=\"/wizard/step1\">Multi-step wizard</a>: a form over three pages</li>\n"
            + "<li><a href=\"/account/sessions\">Your sessions</a>: once logged in, the devices of your account; "
            + "log one out, every other one, or all</li>\n"
            + "</ul>";
}
