package dev.vertxsessions.file;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMiddleware;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import java.nio.file.Path;

/**
 * A second server process on a shared session directory, for the cross-process tests: prints "PORT n" once it
 * listens, then serves until killed.
 */
public final class FileServerMain {

    private FileServerMain() {}

    public static void main(String[] args) {
        Vertx vertx = Vertx.vertx();
        SessionMiddleware middleware = SessionMiddleware.create(
                vertx, new SessionConfig().setBackend(FileSessionInterface.factory(Path.of(args[0]), "session_")));
        Router router = Router.router(vertx);
        router.route().handler(middleware);
        FileBackendTest.routes(router);
        int port = vertx.createHttpServer()
                .requestHandler(router)
                .listen(0, "127.0.0.1")
                .await()
                .actualPort();
        System.out.println("PORT " + port);
        System.out.flush();
    }
}
