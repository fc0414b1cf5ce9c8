package dev.vertxsessions.internal;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.shareddata.ClusterSerializable;
import io.vertx.ext.auth.User;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.Session;
import io.vertx.ext.web.handler.impl.UserHolder;
import io.vertx.ext.web.impl.RoutingContextInternal;
import io.vertx.ext.web.impl.UserContextInternal;
import io.vertx.ext.web.sstore.AbstractSession;
import java.nio.charset.StandardCharsets;

/**
 * The one place that touches Vert.x-Web internals, so that a Vert.x upgrade changes only this class.
 *
 * <p>Vert.x-Web fills {@code ctx.session()} only through {@code RoutingContextInternal.setSession}, and keeps the
 * authenticated user across requests in a {@code UserHolder} stored in the session under
 * {@value #USER_HOLDER_KEY}; its own {@code SessionHandler} does the same.
 *
 * <p>Its {@code SessionStore}s (run by the {@code vertxweb} backend) store a session under {@code session.id()},
 * and offer no public way to choose that ID: sessions come from {@code createSession}, with a random ID, and
 * {@code AbstractSession.setId} is protected. Every store Vert.x-Web ships (local, clustered, Redis, Infinispan,
 * Caffeine) creates a {@code SharedDataSessionImpl}, which is {@link ClusterSerializable}, and a store's {@code put}
 * refuses a session whose {@code version()} differs from the stored one's. {@link #reidentify} sets ID, timeout,
 * last access and version the way those stores read a session back: from a buffer in its serialized form.
 */
public final class VertxWebBridge {

    /** The session key under which Vert.x-Web's SessionHandler keeps the user. */
    public static final String USER_HOLDER_KEY = "__vertx.userHolder";

    private VertxWebBridge() {}

    /** Makes {@code session} what {@code ctx.session()} returns and restores the user stored in it. */
    public static void attach(RoutingContext ctx, Session session) {
        ((RoutingContextInternal) ctx).setSession(session);
        Object holder = session.get(USER_HOLDER_KEY); // get(), not data(): no read-only view per request
        if (holder instanceof UserHolder userHolder) {
            userHolder.refresh(ctx);
        }
    }

    /**
     * Makes the user held in the session exactly {@code ctx.user()}: stored when it is another user than
     * {@code userAtLoad} (a login, an impersonation, a refresh), when the session has a new ID, or when the same user
     * changed (an authorization handler added its authorizations), which {@code storedForm}, the JSON the holder was
     * stored as, tells; removed when there is none (a logout, or an impersonation that moved it out of the context).
     */
    public static void syncUser(RoutingContext ctx, Session session, User userAtLoad, Object storedForm) {
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
            return;
        }
        Object current = JsonValues.toStorable(new UserHolder(ctx));
        if (!current.equals(storedForm)) {
            session.put(USER_HOLDER_KEY, new UserHolder(ctx));
        }
    }

    /** Sets the user of the request, as an authentication handler does. */
    public static void setUser(RoutingContext ctx, User user) {
        ((UserContextInternal) ctx.userContext()).setUser(user);
    }

    /**
     * Turns {@code fresh}, an empty session just made by a Vert.x-Web store's {@code createSession}, into the session
     * {@code id} with the given timeout, last access and version, still empty. Reads a buffer in the serialized form
     * of {@code SharedDataSessionImpl} (ID length and UTF-8 bytes, timeout, last access, version, zero entries),
     * which the Redis and Infinispan stores persist and so cannot change without breaking stored sessions; the
     * result is checked all the same.
     *
     * @throws IllegalArgumentException when the store's sessions are not of that kind (they cannot take our ID)
     * @throws IllegalStateException when the session did not take the fields (a Vert.x-Web change: update this)
     */
    public static Session reidentify(
            Session fresh, String id, long timeoutMillis, long lastAccessedMillis, int version) {
        if (!(fresh instanceof ClusterSerializable clusterSerializable)
                || !(fresh instanceof AbstractSession)
                || !fresh.isEmpty()) {
            throw new IllegalArgumentException("the store's createSession(timeout) returned a "
                    + (fresh == null ? "null" : fresh.getClass().getName()) + "; the vertxweb backend needs an empty "
                    + "AbstractSession that is ClusterSerializable, as Vert.x-Web's own stores create");
        }
        byte[] idBytes = id.getBytes(StandardCharsets.UTF_8);
        Buffer serialized = Buffer.buffer(idBytes.length + 28)
                .appendInt(idBytes.length)
                .appendBytes(idBytes)
                .appendLong(timeoutMillis)
                .appendLong(lastAccessedMillis)
                .appendInt(version)
                .appendInt(0);
        clusterSerializable.readFromBuffer(0, serialized);
        if (!id.equals(fresh.id())
                || fresh.timeout() != timeoutMillis
                || fresh.lastAccessed() != lastAccessedMillis
                || version(fresh) != version
                || !fresh.isEmpty()) {
            throw new IllegalStateException(
                    "Vert.x-Web's " + fresh.getClass().getName() + " no longer reads the "
                            + "serialized form VertxWebBridge.reidentify writes; the vertxweb backend needs updating for this version");
        }
        return fresh;
    }

    /** Returns the version a Vert.x-Web store compares on {@code put} (0 for a session that keeps none). */
    public static int version(Session session) {
        return session instanceof AbstractSession abstractSession ? abstractSession.version() : 0;
    }
}
