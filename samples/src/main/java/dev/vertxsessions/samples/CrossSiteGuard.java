package dev.vertxsessions.samples;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import java.net.URI;
import java.util.Locale;
import java.util.Set;

/**
 * Refuses state-changing requests that another site's page sent with the victim's cookies (cross-site request
 * forgery), the way a browser lets the server tell: {@code Sec-Fetch-Site} (sent by every current browser) must be
 * {@code same-origin} or {@code none} (typed, bookmarked), and when it is absent an {@code Origin} header, if
 * present, must name this server. A request with neither header is not from a browser page (curl, API tests) and
 * passes: it carries no cookies it did not choose. Safe methods (GET, HEAD, OPTIONS) always pass. The demo adds
 * it in front of every route; SameSite=Lax cookies already stop most of these requests, this stops the rest
 * (same-site subdomains, browsers without SameSite).
 */
final class CrossSiteGuard implements Handler<RoutingContext> {

    private static final Set<HttpMethod> SAFE = Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.OPTIONS);

    @Override
    public void handle(RoutingContext ctx) {
        HttpServerRequest request = ctx.request();
        if (SAFE.contains(request.method()) || isSameOrigin(request)) {
            ctx.next();
            return;
        }
        ctx.response()
                .setStatusCode(403)
                .putHeader("content-type", "text/plain; charset=utf-8")
                .end("Cross-site request refused.\n");
    }

    private static boolean isSameOrigin(HttpServerRequest request) {
        String fetchSite = request.getHeader("Sec-Fetch-Site");
        if (fetchSite != null) {
            String site = fetchSite.trim().toLowerCase(Locale.ROOT);
            return site.equals("same-origin") || site.equals("none");
        }
        String origin = request.getHeader("Origin");
        if (origin == null) {
            return true; // not sent by a page in a browser
        }
        String host = request.getHeader("Host");
        try {
            URI uri = URI.create(origin.trim());
            String authority = uri.getRawAuthority();
            return authority != null
                    && host != null
                    && authority.equalsIgnoreCase(host.trim())
                    && ("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()));
        } catch (IllegalArgumentException e) {
            return false; // "null" (a sandboxed or privacy-sensitive context) or garbage
        }
    }
}
