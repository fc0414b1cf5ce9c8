package dev.vertxsessions.security;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.TestServer;
import dev.vertxsessions.file.FileSessionInterface;
import dev.vertxsessions.file.FileSessionOptions;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The sample-like server that {@code soak/soak.sh} loads: the seed guide's visit counter at {@code GET /} and a
 * logout at {@code GET /logout}, on the signed-cookie or the file backend. Not a test; run by the soak script only.
 *
 * <p>Arguments: {@code signed|file} and, for the file backend, the session directory. File sessions expire after
 * 10 s idle and are swept every 2 s, so the file count settles within the soak's warm-up and staying bounded is
 * something even a short soak can check. Prints
 * {@code PORT <n>} once it listens on a random loopback port.
 */
public final class SoakServer {

    private SoakServer() {}

    public static void main(String[] args) {
        String backend = args[0];
        SessionConfig config = new SessionConfig();
        if (backend.equals("file")) {
            // The sweep interval belongs to the factory's options: a backend given in code reads no JSON option.
            config.setBackend(FileSessionInterface.factory(new FileSessionOptions()
                            .setDirectory(Path.of(args[1]))
                            .setPrefix("session_")
                            .setSweepInterval(Duration.ofSeconds(2))))
                    .setExpiry(Duration.ofSeconds(10));
        } else if (backend.equals("signed")) {
            String secret = System.getenv("SOAK_SECRET");
            config.setSecretKey(secret != null ? secret : "soak-only-secret-soak-only-secret-0123456789");
        } else {
            throw new IllegalArgumentException("backend must be signed or file, got '" + backend + "'");
        }
        Vertx vertx = Vertx.vertx();
        SessionMiddleware sessions = SessionMiddleware.create(vertx, config);
        Router router = Router.router(vertx);
        router.route().handler(sessions);
        TestServer.counter(router);
        router.get("/logout").handler(ctx -> {
            SessionMiddleware.session(ctx).clear();
            ctx.response().putHeader("content-type", "text/plain").end("Logged out");
        });
        TestServer.listenForParent(vertx, router);
    }
}
