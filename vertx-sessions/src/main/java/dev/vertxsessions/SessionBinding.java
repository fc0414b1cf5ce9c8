package dev.vertxsessions;

import io.vertx.core.Future;
import java.util.function.UnaryOperator;

/** What a session attached to a request asks of the middleware: its {@code commit()} and {@code update()}. */
interface SessionBinding {

    /** Saves the session now (see {@link BaseSessionInterface#commit()}). */
    Future<Void> commit(SessionState session);

    /** Updates one value, atomically when the backend can (see {@link BaseSessionInterface#update}). */
    Future<Object> update(SessionState session, String key, UnaryOperator<Object> update);
}
