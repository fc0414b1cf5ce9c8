package dev.vertxsessions.file;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.TestServer;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A second server process on a shared session directory, for the cross-process tests: prints "PORT n" once it
 * listens, then serves until killed. Arguments: the directory, and optionally a {@code file_max_sessions}, which
 * also serves the routes of {@link FileQuotaTest} instead of those of {@link FileBackendTest}, or
 * {@code user-limit N}: {@code max_sessions_per_user} N with the routes of {@link FileBackendTest}, or
 * {@code near-cache}: the near cache on, with the routes of {@link FileBackendTest}.
 */
public final class FileServerMain {

    private FileServerMain() {}

    /** A server started in a child process, listening on {@code port} (-1 when it died before listening). */
    record Child(Process process, int port) {}

    /** Starts this class in a child JVM on {@code directory} with {@code args}; returns once it listens. */
    static Child startChild(Path directory, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                FileServerMain.class.getName(),
                directory.toString()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        BufferedReader out =
                new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        for (String line; (line = out.readLine()) != null; ) {
            if (line.startsWith("PORT ")) {
                return new Child(process, Integer.parseInt(line.substring(5).trim()));
            }
        }
        return new Child(process, -1);
    }

    public static void main(String[] args) {
        Vertx vertx = Vertx.vertx();
        FileSessionOptions options = new FileSessionOptions().setDirectory(Path.of(args[0]));
        boolean userLimit = args.length > 2 && args[1].equals("user-limit");
        boolean nearCache = args.length > 1 && args[1].equals("near-cache");
        boolean quotaRoutes = args.length > 1 && !userLimit && !nearCache;
        if (quotaRoutes) {
            options.setMaxSessions(Long.parseLong(args[1]));
        }
        FileSessionInterface[] backend = new FileSessionInterface[1];
        SessionMiddleware middleware = SessionMiddleware.create(
                vertx,
                new SessionConfig()
                        .setMaxSessionsPerUser(userLimit ? Integer.parseInt(args[2]) : 0)
                        .setNearCache(nearCache)
                        .setBackend((v, config) -> backend[0] = (FileSessionInterface)
                                FileSessionInterface.factory(options).create(v, config)));
        middleware.ready().await();
        backend[0].startupScan().await(); // so that the quota knows the directory before the first request
        Router router = Router.router(vertx);
        router.route().handler(middleware);
        if (quotaRoutes) {
            FileQuotaTest.routes(router);
        } else {
            FileBackendTest.routes(router);
        }
        TestServer.listenForParent(vertx, router);
    }
}
