package dev.vertxsessions.file;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.TestServer;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import java.nio.file.Path;

/**
 * A second server process on a shared session directory, for the cross-process tests: prints "PORT n" once it
 * listens, then serves until killed. Arguments: the directory, and optionally a {@code file_max_sessions}, which
 * also serves the routes of {@link FileQuotaTest} instead of those of {@link FileBackendTest}, or
 * {@code user-limit N}: {@code max_sessions_per_user} N with the routes of {@link FileBackendTest}.
 */
public final class FileServerMain {

    private FileServerMain() {}

    public static void main(String[] args) {
        Vertx vertx = Vertx.vertx();
        FileSessionOptions options = new FileSessionOptions().setDirectory(Path.of(args[0]));
        boolean userLimit = args.length > 2 && args[1].equals("user-limit");
        if (args.length > 1 && !userLimit) {
            options.setMaxSessions(Long.parseLong(args[1]));
        }
        FileSessionInterface[] backend = new FileSessionInterface[1];
        SessionMiddleware middleware = SessionMiddleware.create(
                vertx,
                new SessionConfig()
                        .setMaxSessionsPerUser(userLimit ? Integer.parseInt(args[2]) : 0)
                        .setBackend((v, config) -> backend[0] = (FileSessionInterface)
                                FileSessionInterface.factory(options).create(v, config)));
        middleware.ready().await();
        backend[0].startupScan().await(); // so that the quota knows the directory before the first request
        Router router = Router.router(vertx);
        router.route().handler(middleware);
        if (args.length > 1 && !userLimit) {
            FileQuotaTest.routes(router);
        } else {
            FileBackendTest.routes(router);
        }
        TestServer.listenForParent(vertx, router);
    }
}
