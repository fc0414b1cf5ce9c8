package dev.vertxsessions.samples;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionLimitException;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.SessionStoreUnavailableException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * Small response helpers shared by the examples: an HTML page frame whose navigation knows who is logged in,
 * escaping, redirects, JSON and the favicon.
 */
final class Pages {

    private static final String LINKS = "<a href=\"/\">Home</a> | "
            + "<a href=\"/session-demo\">Session demo</a> | "
            + "<a href=\"/dashboard\">Dashboard</a> | "
            + "<a href=\"/shop\">Shop</a> | "
            + "<a href=\"/cart\">Cart</a> | "
            + "<a href=\"/wizard/step1\">Wizard</a> | ";

    /** A 16 x 16 icon, so that browsers stop asking for a favicon the demo does not have. */
    static final String FAVICON_SVG = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\">"
            + "<rect width=\"16\" height=\"16\" rx=\"3\" fill=\"#782b90\"/>"
            + "<text x=\"8\" y=\"12.5\" font-family=\"sans-serif\" font-size=\"12\" font-weight=\"bold\" "
            + "text-anchor=\"middle\" fill=\"#fff\">S</text></svg>\n";

    private Pages() {}

    /**
     * Serves the favicon at {@code /favicon.svg} (where the pages point) and {@code /favicon.ico} (where browsers look
     * by themselves). Mount it before the session middleware: the icon is the same for everyone, so it may be cached
     * publicly and must never carry a session cookie.
     */
    static void mountFavicon(Router router) {
        router.get("/favicon.svg").handler(Pages::favicon);
        router.get("/favicon.ico").handler(Pages::favicon);
    }

    private static void favicon(RoutingContext ctx) {
        ctx.response()
                .putHeader("content-type", "image/svg+xml")
                .putHeader("cache-control", "public, max-age=86400")
                .end(FAVICON_SVG);
    }

    /** Returns whether the client asked for HTML ({@code Accept: text/html}), as browsers do for pages and forms. */
    static boolean wantsHtml(RoutingContext ctx) {
        String accept = ctx.request().getHeader("accept");
        return accept != null && accept.contains("text/html");
    }

    /** Answers 200 with a complete HTML page: the navigation bar, then {@code body} (already escaped). */
    static void html(RoutingContext ctx, String title, String body) {
        html(ctx, 200, title, body);
    }

    /** Answers {@code status} with a complete HTML page: the navigation bar, then {@code body} (already escaped). */
    static void html(RoutingContext ctx, int status, String title, String body) {
        ctx.response()
                .setStatusCode(status)
                .putHeader("content-type", "text/html; charset=utf-8")
                .end("<!DOCTYPE html>\n"
                        + "<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + escape(title)
                        + " - vertx-sessions demo</title>"
                        + "<link rel=\"icon\" type=\"image/svg+xml\" href=\"/favicon.svg\">"
                        + "<style>body{font-family:sans-serif;max-width:42em;margin:2em auto;line-height:1.5}"
                        + "nav{margin-bottom:1.5em}nav form{display:inline}"
                        + ".error{color:#b00}.message{color:#070}label{display:block;margin:.5em 0}"
                        + "td,th{padding:0 .5em;text-align:left}</style>"
                        + "</head><body>" + nav(ctx) + "\n" + body + "\n</body></html>\n");
    }

    /**
     * Returns the navigation bar: while logged in, a link to the user's sessions, who is logged in and a button to log
     * out (a form, as {@code /logout} takes POST only); otherwise a link to log in.
     */
    static String nav(RoutingContext ctx) {
        BaseSessionInterface session = SessionMiddleware.session(ctx);
        String user = session.containsKey("user_id")
                ? "<a href=\"" + AccountSessionsExample.PAGE + "\">Your sessions</a> | "
                        + "<span class=\"user\">" + escape(session.get("username")) + "</span> "
                        + "<form method=\"post\" action=\"/logout\"><button type=\"submit\">Log out</button></form>"
                : "<a href=\"/login\">Log in</a>";
        return "<nav>" + LINKS + user + "</nav>";
    }

    /** Answers 200 with {@code json}. */
    static void json(RoutingContext ctx, JsonObject json) {
        json(ctx, 200, json);
    }

    /** Answers {@code status} with {@code json}. */
    static void json(RoutingContext ctx, int status, JsonObject json) {
        ctx.response()
                .setStatusCode(status)
                .putHeader("content-type", "application/json")
                .end(json.encode());
    }

    /**
     * Answers a refused request: a page titled {@code title} showing {@code message} (then {@code backHtml}, a link
     * back, or nothing) for browsers, {@code {"error": message}} for API clients.
     */
    static void refusal(RoutingContext ctx, int status, String title, String message, String backHtml) {
        if (wantsHtml(ctx)) {
            html(ctx, status, title, "<h1>" + escape(title) + "</h1>\n" + notice("error", message) + backHtml);
        } else {
            json(ctx, status, new JsonObject().put("error", message));
        }
    }

    /** Answers {@code 302 Found} with {@code location} and no body. */
    static void redirect(RoutingContext ctx, String location) {
        ctx.response().setStatusCode(302).putHeader("location", location).end();
    }

    /**
     * Answers {@code 303 See Other} with {@code location} and no body: after a form's POST, the browser loads that
     * page with GET, so reloading it or going back never sends the form again.
     */
    static void seeOther(RoutingContext ctx, String location) {
        ctx.response().setStatusCode(303).putHeader("location", location).end();
    }

    /**
     * Answers a failed session operation: 503 when the store cannot be reached (the client may retry), else 500.
     * Nothing is saved for a 5xx answer.
     */
    static void sessionFailure(RoutingContext ctx, Throwable failure) {
        if (failure instanceof SessionLimitException) {
            ctx.response()
                    .setStatusCode(429)
                    .putHeader("content-type", "text/plain; charset=utf-8")
                    .end("This account has too many sessions open; log out on another device first.\n");
            return;
        }
        boolean unavailable = failure instanceof SessionStoreUnavailableException;
        ctx.response()
                .setStatusCode(unavailable ? 503 : 500)
                .putHeader("content-type", "text/plain; charset=utf-8")
                .end(
                        unavailable
                                ? "The session store is unavailable right now; please try again in a moment.\n"
                                : "Your session could not be updated; please try again.\n");
    }

    /** Returns {@code text} with the HTML special characters escaped; null becomes the empty string. */
    static String escape(Object text) {
        if (text == null) {
            return "";
        }
        String s = text.toString();
        StringBuilder out = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }

    /** Returns a paragraph showing {@code text} escaped with the CSS class {@code cssClass}, or "" when text is null. */
    static String notice(String cssClass, String text) {
        return text == null ? "" : "<p class=\"" + cssClass + "\">" + escape(text) + "</p>";
    }
}
