package dev.vertxsessions.internal;

import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.Session;
import io.vertx.ext.web.handler.impl.UserHolder;
import io.vertx.ext.web.impl.RoutingContextInternal;

/**
 * The one place that touches Vert.x-Web internals, so that a Vert.x upgrade changes only this class.
 *
 * <p>Vert.x-Web fills {@code ctx.session()} only through {@code RoutingContextInternal.setSession}, and keeps the
 * authenticated user across requests in a {@code UserHolder} stored in the session under
 * {@value #USER_HOLDER_KEY}; its own {@code SessionHandler} does the same.
 */
public final class VertxWebBridge {

  /** The session key under which Vert.x-Web's SessionHandler keeps the user. */
  public static final String USER_HOLDER_KEY = "__vertx.userHolder";

  private VertxWebBridge() {
  }

  /** Makes {@code session} what {@code ctx.session()} returns and restores the user stored in it. */
  public static void attach(RoutingContext ctx, Session session) {
    ((RoutingContextInternal) ctx).setSession(session);
    Object holder = session.get(USER_HOLDER_KEY); // get(), not data(): no read-only view per request
    if (holder instanceof UserHolder) {
      ((UserHolder) holder).refresh(ctx);
    }
  }

  /**
   * Stores the current user in the session when there is one and the session does not hold it yet (first login,
   * or a login that regenerated the session).
   */
  public static void storeUser(RoutingContext ctx, Session session) {
    if (ctx.user() != null && (session.isRegenerated() || !(session.get(USER_HOLDER_KEY) instanceof UserHolder))) {
      session.put(USER_HOLDER_KEY, new UserHolder(ctx));
    }
  }
}
