package dev.vertxsessions.samples;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionAdmin;
import dev.vertxsessions.SessionInfo;
import dev.vertxsessions.SessionMiddleware;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * "Your sessions" (issue 20): a logged-in user sees the sessions of their account, one per browser or device, and
 * ends one of them, every other one, or all of them. It uses the administration API,
 * {@link SessionMiddleware#sessions()}, which needs a backend with a user index (memory, files, Redis); on the others
 * (signed cookies, the PostgreSQL sample) the page says why it cannot list sessions and the actions answer 501.
 *
 * <p>A session ID is a bearer credential: it is never shown, not even the user's own. Each session is named by a
 * handle, the first 16 hex digits of the SHA-256 of its ID, and an action's handle is looked up among the sessions
 * of the logged-in user only, so a handle of another user's session ends nothing (404).
 */
final class AccountSessionsExample {

    /** The page. */
    static final String PAGE = "/account/sessions";

    static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'").withZone(ZoneOffset.UTC);

    /** The notices the page shows after an action, by the {@code message} parameter of the redirect. */
    private static final Map<String, String> MESSAGES = Map.of(
            "ended", "That session has been logged out.",
            "others_ended", "Every other device has been logged out.");

    private AccountSessionsExample() {}

    static void mount(Router router, SessionAdmin admin) {
        router.get(PAGE).handler(ctx -> list(ctx, admin));
        router.post(PAGE + "/end-others").handler(ctx -> endOthers(ctx, admin));
        router.post(PAGE + "/end-all").handler(ctx -> endAll(ctx, admin));
        router.post(PAGE + "/:handle/end").handler(ctx -> endOne(ctx, admin));
    }

    /**
     * GET /account/sessions lists the user's sessions: a page for browsers, JSON
     * ({@code {"sessions": [{"handle", "created_at", "expires_at", "user_agent", "address", "current"}]}}) for API
     * clients (the device fields null unless {@code record_client_info} kept them). Without the
     * capability: the page explains (200), the JSON is a 501.
     */
    private static void list(RoutingContext ctx, SessionAdmin admin) {
        String user = loggedInUser(ctx);
        if (user == null) {
            refuseAnonymous(ctx);
            return;
        }
        String currentId = SessionMiddleware.session(ctx).id();
        admin.sessionsOf(user).onComplete(ar -> {
            if (ar.failed()) {
                if (ar.cause() instanceof UnsupportedOperationException unsupported && Pages.wantsHtml(ctx)) {
                    Pages.html(ctx, "Your sessions", "<h1>Your sessions</h1>\n" + unsupportedNotice(unsupported));
                } else {
                    failed(ctx, ar.cause());
                }
                return;
            }
            List<SessionInfo> sessions = ar.result();
            if (!Pages.wantsHtml(ctx)) {
                JsonArray rows = new JsonArray();
                for (SessionInfo info : sessions) {
                    rows.add(new JsonObject()
                            .put("handle", handle(info.id()))
                            .put(
                                    "created_at",
                                    Instant.ofEpochMilli(info.createdAtMillis()).toString())
                            .put(
                                    "expires_at",
                                    Instant.ofEpochMilli(info.expiresAtMillis()).toString())
                            .put("user_agent", info.userAgent())
                            .put("address", info.address())
                            .put("current", info.id().equals(currentId)));
                }
                Pages.json(ctx, new JsonObject().put("user", user).put("sessions", rows));
                return;
            }
            StringBuilder rows = new StringBuilder();
            for (SessionInfo info : sessions) {
                boolean current = info.id().equals(currentId);
                String handle = handle(info.id());
                rows.append(current ? "<tr class=\"current\">" : "<tr>")
                        .append("<td><code>")
                        .append(handle)
                        .append("</code>")
                        .append(current ? " <strong>(this device)</strong>" : "")
                        .append("</td><td>")
                        .append(TIME.format(Instant.ofEpochMilli(info.createdAtMillis())))
                        .append("</td><td>")
                        .append(TIME.format(Instant.ofEpochMilli(info.expiresAtMillis())))
                        .append("</td><td>")
                        .append(Pages.escape(AdminSessionsExample.device(info)))
                        .append("</td><td><form method=\"post\" action=\"")
                        .append(PAGE)
                        .append('/')
                        .append(handle)
                        .append("/end\"><button type=\"submit\">Log out</button></form></td></tr>\n");
            }
            String message = ctx.request().getParam("message");
            Pages.html(
                    ctx,
                    "Your sessions",
                    "<h1>Your sessions</h1>\n"
                            + Pages.notice("message", message == null ? null : MESSAGES.get(message))
                            + "<p>Each row is a browser or device logged in as " + Pages.escape(user)
                            + ". A session logged out here is logged out at its next request.</p>\n"
                            + "<table>\n<tr><th>Session</th><th>Logged in</th><th>Expires</th><th>Device</th><th></th></tr>\n"
                            + rows + "</table>\n"
                            + "<form method=\"post\" action=\"" + PAGE + "/end-others\">"
                            + "<button type=\"submit\">Log out all other devices</button></form>\n"
                            + "<form method=\"post\" action=\"" + PAGE + "/end-all\">"
                            + "<button type=\"submit\">Log out everywhere</button></form>\n"
                            + "<p>Back to your <a href=\"/dashboard\">dashboard</a>.</p>");
        });
    }

    /**
     * POST /account/sessions/:handle/end ends the user's session with that handle: 404 when the user has none (another
     * user's handle included). Ending the current session is a logout: its cookie is expired.
     */
    private static void endOne(RoutingContext ctx, SessionAdmin admin) {
        String user = loggedInUser(ctx);
        if (user == null) {
            refuseAnonymous(ctx);
            return;
        }
        String handle = ctx.pathParam("handle");
        BaseSessionInterface session = SessionMiddleware.session(ctx);
        String currentId = session.id();
        admin.sessionsOf(user).onComplete(ar -> {
            if (ar.failed()) {
                failed(ctx, ar.cause());
                return;
            }
            SessionInfo found = ar.result().stream()
                    .filter(info -> handle(info.id()).equals(handle))
                    .findFirst()
                    .orElse(null);
            if (found == null) {
                answer(ctx, 404, "Not found", "You have no session with that handle; nothing was logged out.");
            } else if (found.id().equals(currentId)) {
                logOutHere(ctx, session, new JsonObject().put("success", true).put("logged_out", true));
            } else {
                admin.delete(found.id()).onComplete(deleted -> {
                    if (deleted.failed()) {
                        failed(ctx, deleted.cause());
                    } else if (Pages.wantsHtml(ctx)) {
                        Pages.seeOther(ctx, PAGE + "?message=ended");
                    } else {
                        Pages.json(ctx, new JsonObject().put("success", true));
                    }
                });
            }
        });
    }

    /** POST /account/sessions/end-others ends every session of the user but this one. */
    private static void endOthers(RoutingContext ctx, SessionAdmin admin) {
        String user = loggedInUser(ctx);
        if (user == null) {
            refuseAnonymous(ctx);
            return;
        }
        admin.deleteAllOf(user, SessionMiddleware.session(ctx).id()).onComplete(ar -> {
            if (ar.failed()) {
                failed(ctx, ar.cause());
            } else if (Pages.wantsHtml(ctx)) {
                Pages.seeOther(ctx, PAGE + "?message=others_ended");
            } else {
                Pages.json(
                        ctx,
                        new JsonObject()
                                .put("success", true)
                                .put("ended", ar.result().size()));
            }
        });
    }

    /**
     * POST /account/sessions/end-all ends every session of the user: the others through the administration API, this
     * one as the logout does (through the session itself, so that the response expires its cookie).
     */
    private static void endAll(RoutingContext ctx, SessionAdmin admin) {
        String user = loggedInUser(ctx);
        if (user == null) {
            refuseAnonymous(ctx);
            return;
        }
        BaseSessionInterface session = SessionMiddleware.session(ctx);
        admin.deleteAllOf(user, session.id()).onComplete(ar -> {
            if (ar.failed()) {
                failed(ctx, ar.cause()); // nothing ended: not even this session
            } else {
                logOutHere(
                        ctx,
                        session,
                        new JsonObject()
                                .put("success", true)
                                .put("logged_out", true)
                                .put("ended", ar.result().size() + 1));
            }
        });
    }

    /**
     * Ends the request's own session as {@code POST /logout} does: empties it, waits until the store has deleted it,
     * and answers with the cookie expired: {@code 303} to the login page for browsers, {@code json} for API clients.
     */
    private static void logOutHere(RoutingContext ctx, BaseSessionInterface session, JsonObject json) {
        session.clear();
        session.commit().onComplete(deleted -> {
            if (deleted.failed()) {
                Pages.sessionFailure(ctx, deleted.cause());
                return;
            }
            ctx.response().putHeader("clear-site-data", "\"cache\"");
            if (Pages.wantsHtml(ctx)) {
                Pages.seeOther(ctx, "/login?message=logged_out");
            } else {
                Pages.json(ctx, json);
            }
        });
    }

    /** Returns the logged-in user's principal (the name the login stored), or null. */
    static String loggedInUser(RoutingContext ctx) {
        BaseSessionInterface session = SessionMiddleware.session(ctx);
        return session.containsKey("user_id") ? session.getPrincipal() : null;
    }

    /** Answers a request without a login: to the login page for browsers, 401 for API clients. */
    static void refuseAnonymous(RoutingContext ctx) {
        if (Pages.wantsHtml(ctx)) {
            Pages.redirect(ctx, "/login");
        } else {
            Pages.json(ctx, 401, new JsonObject().put("error", "Log in first."));
        }
    }

    /**
     * Answers a failed administration call: 501 with the backend's reason when it has no user index, else as every
     * other session failure (503 when the store is unavailable, 500).
     */
    static void failed(RoutingContext ctx, Throwable failure) {
        if (failure instanceof UnsupportedOperationException unsupported) {
            if (Pages.wantsHtml(ctx)) {
                Pages.html(ctx, 501, "Not supported", "<h1>Your sessions</h1>\n" + unsupportedNotice(unsupported));
            } else {
                Pages.json(
                        ctx,
                        501,
                        new JsonObject()
                                .put("error", "This session backend cannot list or end sessions.")
                                .put("reason", unsupported.getMessage()));
            }
        } else {
            Pages.sessionFailure(ctx, failure);
        }
    }

    private static String unsupportedNotice(UnsupportedOperationException unsupported) {
        return Pages.notice("error", "This session backend cannot list or end sessions.")
                + "<p>Why: " + Pages.escape(unsupported.getMessage()) + ".</p>\n"
                + "<p>You can still log out this browser with the button at the top of the page.</p>";
    }

    private static void answer(RoutingContext ctx, int status, String title, String message) {
        Pages.refusal(ctx, status, title, message, "<p>Back to <a href=\"" + PAGE + "\">your sessions</a>.</p>");
    }

    /**
     * Returns the handle of session {@code id}: the first 16 hex digits of its SHA-256. It names the session on the
     * page; the ID cannot be recovered from it.
     */
    static String handle(String id) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
