package dev.vertxsessions.file;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.TestServer;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;

/**
 * The server that {@link FileCrashConsistencyTest} starts as a separate process and kills with SIGKILL. Arguments:
 * the session directory, the sweep interval in seconds and, optionally, {@code max_sessions_per_user}. Prints
 * {@code PORT <n>} once it listens.
 *
 * <p>{@code GET /write?n=N} stores {@code n=N} and a large value derived from N ({@link #blob(int)}), awaits the
 * commit and answers 200 (503 if the store failed); {@code GET /read} answers the session's {@code n}.
 * {@code POST /login/:user} logs in as that user (regenerate + principal), awaiting the commit; {@code GET /whoami}
 * answers the session's principal; {@code GET /sessions-of/:user} the IDs the user index lists, as a JSON array.
 */
public final class CrashServerMain {

    /** Characters of the per-version value: large enough that a torn write would be visible. */
    static final int BLOB_CHARS = 8_000;

    private CrashServerMain() {}

    /** The value written with version {@code n}: pseudo-random, so no two versions share a long run. */
    static String blob(int n) {
        Random random = new Random(n * 2_654_435_761L);
        StringBuilder out = new StringBuilder(BLOB_CHARS);
        out.append(n).append(':');
        while (out.length() < BLOB_CHARS) {
            out.append((char) ('a' + random.nextInt(26)));
        }
        return out.toString();
    }

    public static void main(String[] args) {
        Path directory = Path.of(args[0]);
        Duration sweep = Duration.ofSeconds(Long.parseLong(args[1]));
        Vertx vertx = Vertx.vertx();
        SessionMiddleware sessions = SessionMiddleware.create(
                vertx,
                new SessionConfig()
                        .setMaxSessionsPerUser(args.length > 2 ? Integer.parseInt(args[2]) : 0)
                        .setBackend(FileSessionInterface.factory(new dev.vertxsessions.file.FileSessionOptions()
                                .setDirectory(directory)
                                .setSweepInterval(sweep))));
        Router router = Router.router(vertx);
        router.route().handler(sessions);
        router.get("/write").handler(ctx -> {
            int n = Integer.parseInt(ctx.queryParams().get("n"));
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            session.put("n", n);
            session.put("blob", blob(n));
            session.commit()
                    .onComplete(ar -> ctx.response()
                            .setStatusCode(ar.succeeded() ? 200 : 503)
                            .end());
        });
        router.post("/login/:user")
                .handler(ctx -> SessionMiddleware.session(ctx)
                        .regenerate()
                        .setPrincipal(ctx.pathParam("user"))
                        .put("user", ctx.pathParam("user"))
                        .commit()
                        .onComplete(ar -> ctx.response()
                                .setStatusCode(ar.succeeded() ? 200 : 503)
                                .end()));
        router.get("/whoami").handler(ctx -> {
            String principal = SessionMiddleware.session(ctx).getPrincipal();
            ctx.end(principal == null ? "" : principal);
        });
        router.get("/sessions-of/:user")
                .handler(ctx -> sessions.sessions()
                        .sessionsOf(ctx.pathParam("user"))
                        .onSuccess(list -> ctx.end(new io.vertx.core.json.JsonArray(list.stream()
                                        .map(dev.vertxsessions.SessionInfo::id)
                                        .toList())
                                .encode()))
                        .onFailure(ctx::fail));
        router.get("/read").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            ctx.response()
                    .end(new JsonObject()
                            .put("isNew", session.isNew())
                            .put("n", session.get("n"))
                            .put(
                                    "blobMatches",
                                    session.containsKey("n")
                                            && blob(session.get("n")).equals(session.get("blob")))
                            .encode());
        });
        TestServer.listenForParent(vertx, router);
    }
}
