package dev.vertxsessions;

import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;

/*
 * The middleware's listeners of SessionEvent. The middleware (and, through SessionMetrics, a backend) calls the
 * report methods once the store has confirmed what happened, on whatever thread completed the write; each listener
 * then runs on the context it was registered on (else the middleware creator's), later, never inside the request's
 * call stack or a backend's lock. A listener that throws is logged and changes nothing else. With events_address,
 * each event is also published on the event bus as JSON, with or without listeners.
 */
/** Delivers {@link SessionEvent}s to listeners and, optionally, the event bus (see the note above). */
final class SessionEvents {

    private static final System.Logger LOG = System.getLogger(SessionMiddleware.class.getName());

    private record Listener(Handler<SessionEvent> handler, Context context) {}

    private final Vertx vertx;
    private final Context creatorContext;
    private final String backend;
    private final Clock clock;
    private final String address;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();

    SessionEvents(Vertx vertx, String backend, Clock clock, String address) {
        this.vertx = vertx;
        this.creatorContext = vertx.getOrCreateContext();
        this.backend = backend;
        this.clock = clock;
        this.address = address;
    }

    SessionEvent.Registration add(Handler<SessionEvent> handler) {
        Objects.requireNonNull(handler, "listener");
        Context current = Vertx.currentContext();
        Listener listener = new Listener(handler, current != null ? current : creatorContext);
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    /** Whether anyone hears events: without, the middleware builds none. */
    boolean heard() {
        return address != null || !listeners.isEmpty();
    }

    void created(String id, String principal) {
        fire(SessionEvent.Kind.CREATED, id, null, null, principal);
    }

    void regenerated(String previousId, String id, String principal) {
        fire(SessionEvent.Kind.REGENERATED, id, previousId, null, principal);
    }

    void destroyed(String id, SessionEvent.Cause cause, String principal) {
        fire(SessionEvent.Kind.DESTROYED, id, null, cause, principal);
    }

    void expired(String id, String principal) {
        fire(SessionEvent.Kind.EXPIRED, id, null, null, principal);
    }

    private void fire(SessionEvent.Kind kind, String id, String previousId, SessionEvent.Cause cause, String who) {
        if (!heard() || id == null) {
            return;
        }
        SessionEvent event = new SessionEvent(kind, id, previousId, cause, who, backend, clock.millis());
        for (Listener listener : listeners) {
            listener.context().runOnContext(v -> deliver(listener.handler(), event));
        }
        if (address != null) {
            try {
                vertx.eventBus().publish(address, event.toJson());
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "session event could not be published on " + address + ": " + e);
            }
        }
    }

    private static void deliver(Handler<SessionEvent> handler, SessionEvent event) {
        try {
            handler.handle(event);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "session event listener failed on " + event + ": " + e, e);
        }
    }
}
