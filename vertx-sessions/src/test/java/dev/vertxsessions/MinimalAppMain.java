package dev.vertxsessions;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.WebClient;
import java.nio.file.Files;

/**
 * An application with none of the optional dependencies (run by {@link OptionalDependenciesTest} in a JVM whose
 * class path lacks them): signed cookies and files serve a request each; choosing Redis fails naming the dependency.
 * Prints one line per check.
 */
public final class MinimalAppMain {

    private MinimalAppMain() {}

    public static void main(String[] args) throws Exception {
        Vertx vertx = Vertx.vertx();
        try {
            String dir = Files.createTempDirectory("minimal-app").toString();
            for (SessionConfig config : new SessionConfig[] {
                new SessionConfig().setSecretKey(TestServer.SECRET),
                new SessionConfig(new JsonObject().put("manager", "file").put("directory", dir))
            }) {
                SessionMiddleware sessions =
                        SessionMiddleware.start(vertx, config).await();
                Router router = Router.router(vertx);
                router.route().handler(sessions);
                TestServer.counter(router);
                int port = vertx.createHttpServer()
                        .requestHandler(router)
                        .listen(0, "127.0.0.1")
                        .await()
                        .actualPort();
                WebClient client = WebClient.create(vertx);
                String body = client.get(port, "127.0.0.1", "/").send().await().bodyAsString();
                System.out.println(config.getManagerName() + ": " + body);
                client.close();
            }
            try {
                SessionMiddleware.create(vertx, new SessionConfig().setManager("redis"));
                System.out.println("redis: created");
            } catch (IllegalArgumentException e) {
                System.out.println("redis: " + e.getMessage());
            }
        } finally {
            vertx.close().await();
        }
    }
}
