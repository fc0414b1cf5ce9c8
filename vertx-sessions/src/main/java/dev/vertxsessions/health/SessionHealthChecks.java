package dev.vertxsessions.health;

import dev.vertxsessions.SessionMiddleware;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.healthchecks.Status;

/**
 * The session store as a Vert.x health check procedure ({@code vertx-health-check}, an optional dependency):
 * {@code SessionHealthChecks.register(healthChecks, middleware)}, then serve it with Vert.x-Web's
 * {@code HealthCheckHandler}. The procedure is up when {@link SessionMiddleware#checkHealth()} succeeds (Redis
 * answers a PING; the file backend's directory takes a new file and has space; signed cookies and memory are always
 * up), and down with the reason otherwise. The data never holds a session ID, a secret or a password.
 */
public final class SessionHealthChecks {

    /** The procedure's name in the health report. */
    public static final String NAME = "sessions";

    private SessionHealthChecks() {}

    /** Returns the procedure for {@code middleware}, for {@code healthChecks.register(name, procedure)}. */
    public static Handler<Promise<Status>> procedure(SessionMiddleware middleware) {
        return status -> middleware.checkHealth().onComplete(checked -> {
            JsonObject data = new JsonObject().put("backend", backendName(middleware));
            if (checked.succeeded()) {
                status.complete(Status.OK(data));
            } else {
                status.complete(Status.KO(
                        data.put("reason", String.valueOf(checked.cause().getMessage()))));
            }
        });
    }

    /** Registers the procedure under {@link #NAME} and returns {@code healthChecks}. */
    public static HealthChecks register(HealthChecks healthChecks, SessionMiddleware middleware) {
        return healthChecks.register(NAME, procedure(middleware));
    }

    private static String backendName(SessionMiddleware middleware) {
        String name = middleware.config().getManagerName();
        return name != null ? name : "custom";
    }
}
