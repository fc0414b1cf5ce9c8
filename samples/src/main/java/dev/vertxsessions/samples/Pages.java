package dev.vertxsessions.samples;

import dev.vertxsessions.SessionStoreUnavailableException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/** Small response helpers shared by the examples: an HTML page frame, escaping, redirects and JSON. */
final class Pages {

    private static final String NAV = "<nav>"
            + "<a href=\"/\">Home</a> | "
            + "<a href=\"/session-demo\">Session demo</a> | "
            + "<a href=\"/login\">Log in</a> | "
            + "<a href=\"/dashboard\">Dashboard</a> | "
            + "<a href=\"/shop\">Shop</a> | "
            + "<a href=\"/cart\">Cart</a> | "
            + "<a href=\"/wizard/step1\">Wizard</a>"
            + "</nav>";

    private Pages() {}

    /** Answers 200 with a complete HTML page: the navigation bar, then {@code body} (already escaped). */
    static void html(RoutingContext ctx, String title, String body) {
        ctx.response()
                .putHeader("content-type", "text/html; charset=utf-8")
                .end("<!DOCTYPE html>\n"
                        + "<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + escape(title)
                        + " - vertx-sessions demo</title>"
                        + "<style>body{font-family:sans-serif;max-width:42em;margin:2em auto;line-height:1.5}"
                        + "nav{margin-bottom:1.5em}.error{color:#b00}.message{color:#070}label{display:block;margin:.5em 0}</style>"
                        + "</head><body>" + NAV + "\n" + body + "\n</body></html>\n");
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

    /** Answers {@code 302 Found} with {@code location} and no body. */
    static void redirect(RoutingContext ctx, String location) {
        ctx.response().setStatusCode(302).putHeader("location", location).end();
    }

    /**
     * Answers a failed session operation: 503 when the store cannot be reached (the client may retry), else 500.
     * Nothing is saved for a 5xx answer.
     */
    static void sessionFailure(RoutingContext ctx, Throwable failure) {
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
