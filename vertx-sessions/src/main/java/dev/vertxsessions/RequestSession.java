package dev.vertxsessions;

import io.vertx.core.Future;

/**
 * The session object of a request on a {@link SessionBackend}: the map API alone; the backend does the I/O. It
 * exists because {@code load()} and {@code save()} stay abstract (a seed-style subclass must write them); the
 * middleware never calls them here.
 */
final class RequestSession extends BaseSessionInterface {

    @Override
    protected Future<Void> load() {
        return Future.failedFuture(new IllegalStateException("the middleware loads through the SessionBackend"));
    }

    @Override
    protected Future<Void> save() {
        return Future.failedFuture(new IllegalStateException("the middleware saves through the SessionBackend"));
    }
}
