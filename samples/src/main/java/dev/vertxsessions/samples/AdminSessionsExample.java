package dev.vertxsessions.samples;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionAdmin;
import dev.vertxsessions.SessionInfo;
import dev.vertxsessions.SessionMiddleware;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * The administrator's page (issue 20): an administrator (alice) sees every account's sessions, with the device each
 * logged in from ({@code record_client_info}), and ends any of them, through the administration API
 * ({@link SessionMiddleware#sessions()}). Sessions are named by their handle ({@link AccountSessionsExample#handle}),
 * never by ID. Anonymous visitors are sent to log in (401 for API clients), other users get 403.
 */
final class AdminSessionsExample {

    /** The page. */
    static final String PAGE = "/admin/sessions";

    private AdminSessionsExample() {}

    static void mount(Router router, SessionAdmin admin) {
        router.get(PAGE).handler(ctx -> list(ctx, admin));
        router.post(PAGE + "/:user/:handle/end").handler(ctx -> endOne(ctx, admin));
    }

    /** One account's sessions. */
    private record Account(String user, List<SessionInfo> sessions) {}

    /**
     * GET /admin/sessions lists the sessions of every account: a page for browsers, JSON ({@code {"stored": n,
     * "sessions": [{"user", "handle", "created_at", "last_access_at", "expires_at", "user_agent", "address"}]}})
     * for API clients.
     */
    private static void list(RoutingContext ctx, SessionAdmin admin) {
        if (!isAdministrator(ctx)) {
            return;
        }
        List<Future<Account>> accounts = new ArrayList<>();
        for (String user : new TreeSet<>(LoginExample.USERS.keySet())) {
            accounts.add(admin.sessionsOf(user).map(sessions -> new Account(user, sessions)));
        }
        Future<Long> stored = admin.count().otherwise(-1L);
        Future.all(accounts)
                .onComplete(ar -> stored.onComplete(count -> {
                    if (ar.failed()) {
                        AccountSessionsExample.failed(ctx, ar.cause());
                        return;
                    }
                    String currentId = SessionMiddleware.session(ctx).id();
                    JsonArray json = new JsonArray();
                    StringBuilder rows = new StringBuilder();
                    for (Future<Account> found : accounts) {
                        Account account = found.result();
                        for (SessionInfo info : account.sessions()) {
                            String handle = AccountSessionsExample.handle(info.id());
                            json.add(new JsonObject()
                                    .put("user", account.user())
                                    .put("handle", handle)
                                    .put(
                                            "created_at",
                                            Instant.ofEpochMilli(info.createdAtMillis())
                                                    .toString())
                                    .put(
                                            "last_access_at",
                                            info.lastAccessedAtMillis() < 0
                                                    ? null
                                                    : Instant.ofEpochMilli(info.lastAccessedAtMillis())
                                                            .toString())
                                    .put(
                                            "expires_at",
                                            Instant.ofEpochMilli(info.expiresAtMillis())
                                                    .toString())
                                    .put("user_agent", info.userAgent())
                                    .put("address", info.address())
                                    .put("current", info.id().equals(currentId)));
                            rows.append("<tr><td>")
                                    .append(Pages.escape(account.user()))
                                    .append("</td><td><code>")
                                    .append(handle)
                                    .append("</code>")
                                    .append(info.id().equals(currentId) ? " <strong>(you, here)</strong>" : "")
                                    .append("</td><td>")
                                    .append(time(info.createdAtMillis()))
                                    .append("</td><td>")
                                    .append(time(info.lastAccessedAtMillis()))
                                    .append("</td><td>")
                                    .append(Pages.escape(device(info)))
                                    .append("</td><td><form method=\"post\" action=\"")
                                    .append(PAGE)
                                    .append('/')
                                    .append(Pages.escape(account.user()))
                                    .append('/')
                                    .append(handle)
                                    .append("/end\"><button type=\"submit\">End</button></form></td></tr>\n");
                        }
                    }
                    long total = count.result();
                    if (!Pages.wantsHtml(ctx)) {
                        Pages.json(
                                ctx,
                                new JsonObject()
                                        .put("stored", total < 0 ? null : total)
                                        .put("sessions", json));
                        return;
                    }
                    String message =
                            "ended".equals(ctx.request().getParam("message")) ? "That session has been ended." : null;
                    Pages.html(
                            ctx,
                            "Everyone's sessions",
                            "<h1>Everyone's sessions</h1>\n"
                                    + Pages.notice("message", message)
                                    + (total < 0
                                            ? ""
                                            : "<p>" + total + " sessions stored, anonymous visitors included.</p>\n")
                                    + "<table>\n<tr><th>User</th><th>Session</th><th>Logged in</th><th>Last seen</th>"
                                    + "<th>Device</th><th></th></tr>\n"
                                    + rows + "</table>\n"
                                    + "<p>Back to your <a href=\"/dashboard\">dashboard</a>.</p>");
                }));
    }

    /** POST /admin/sessions/:user/:handle/end ends that session of that user: 404 when the user has none. */
    private static void endOne(RoutingContext ctx, SessionAdmin admin) {
        if (!isAdministrator(ctx)) {
            return;
        }
        String user = ctx.pathParam("user");
        String handle = ctx.pathParam("handle");
        admin.sessionsOf(user)
                .map(sessions -> sessions.stream()
                        .filter(info -> AccountSessionsExample.handle(info.id()).equals(handle))
                        .findFirst()
                        .orElse(null))
                .compose(found -> found == null
                        ? Future.succeededFuture(false)
                        : admin.delete(found.id()).map(true))
                .onComplete(ar -> {
                    if (ar.failed()) {
                        AccountSessionsExample.failed(ctx, ar.cause());
                    } else if (!ar.result()) {
                        Pages.refusal(
                                ctx,
                                404,
                                "Not found",
                                "That user has no session with that handle; nothing was ended.",
                                "");
                    } else if (Pages.wantsHtml(ctx)) {
                        Pages.seeOther(ctx, PAGE + "?message=ended");
                    } else {
                        Pages.json(ctx, new JsonObject().put("success", true));
                    }
                });
    }

    /** Returns whether an administrator is logged in; otherwise answers (login page or 401, or 403). */
    private static boolean isAdministrator(RoutingContext ctx) {
        if (AccountSessionsExample.loggedInUser(ctx) == null) {
            AccountSessionsExample.refuseAnonymous(ctx);
            return false;
        }
        BaseSessionInterface session = SessionMiddleware.session(ctx);
        if (Boolean.TRUE.equals(session.get("is_admin"))) {
            return true;
        }
        Pages.refusal(ctx, 403, "Forbidden", "Only an administrator sees everyone's sessions.", "");
        return false;
    }

    private static String time(long epochMillis) {
        return epochMillis < 0 ? "-" : AccountSessionsExample.TIME.format(Instant.ofEpochMilli(epochMillis));
    }

    /** Returns "browser, from address" as record_client_info kept them, or "-". */
    static String device(SessionInfo info) {
        if (info.userAgent() == null && info.address() == null) {
            return "-";
        }
        return (info.userAgent() == null ? "unknown browser" : info.userAgent())
                + (info.address() == null ? "" : ", from " + info.address());
    }
}
