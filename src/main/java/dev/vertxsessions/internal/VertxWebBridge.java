package dev.vertxsessions.internal;

import io.vertx.ext.auth.User;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.Session;
import io.vertx.ext.web.handler.impl.UserHolder;
import io.vertx.ext.web.impl.RoutingContextInternal;
import io.vertx.ext.web.impl.UserContextInternal;

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
   * Makes the user held in the session exactly {@code ctx.user()}: stored when it differs from
   * {@code userAtLoad} (a login, an impersonation, a refresh, or a new session ID), removed when there is none
   * (a logout, or an impersonation that moved it out of the context).
   */
  public static void syncUser(RoutingContext ctx, Session session, User userAtLoad) {
    User user = ctx.user();
    Object holder = session.get(USER_HOLDER_KEY);
    if (user == null) {
      if (holder != null) {
        session.remove(USER_HOLDER_KEY);
      }
      return;
    }
    if (user != userAtLoad || !(holder instanceof UserHolder) || session.isRegenerated()) {
      session.put(USER_HOLDER_KEY, new UserHolder(ctx));
    }
  }

  /** Sets the user of the request, as an authentication handler does. */
  public static void setUser(RoutingContext ctx, User user) {
    ((UserContextInternal) ctx.userContext()).setUser(user);
  }
}
