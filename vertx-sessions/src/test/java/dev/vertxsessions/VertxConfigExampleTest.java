package dev.vertxsessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.config.ConfigRetriever;
import io.vertx.config.ConfigRetrieverOptions;
import io.vertx.config.ConfigStoreOptions;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * README's example: the session configuration from a JSON file with Vert.x-style camelCase keys plus the secret
 * from the environment ({@code SECRET_KEY}, which the build sets for the test JVM), through vertx-config.
 */
@ExtendWith(VertxExtension.class)
class VertxConfigExampleTest {

    @Test
    void fileAndEnvironment_configureTheMiddleware(Vertx vertx, @TempDir Path dir, VertxTestContext test) {
        test.verify(() -> {
            Path file = dir.resolve("sessions.json");
            Files.writeString(file, "{\"cookieName\": \"sid\", \"expiry\": 600, \"cookieSameSite\": \"strict\"}");

            // As in README:
            ConfigRetriever retriever = ConfigRetriever.create(
                    vertx,
                    new ConfigRetrieverOptions()
                            .addStore(new ConfigStoreOptions()
                                    .setType("file")
                                    .setConfig(new JsonObject().put("path", file.toString())))
                            .addStore(new ConfigStoreOptions()
                                    .setType("env")
                                    .setConfig(new JsonObject().put("keys", new JsonArray().add("SECRET_KEY")))));
            SessionConfig config = retriever.getConfig().map(SessionConfig::new).await();

            assertEquals("vertx-config-example-secret-0123456789abcdef", config.getSecretKey());
            TestServer server = TestServer.start(vertx, config, TestServer::counter);
            try {
                String setCookie = TestServer.setCookie(server.get("/"), "sid");
                assertTrue(setCookie.startsWith("sid="), setCookie);
                assertTrue(setCookie.contains("; Max-Age=600;"), setCookie);
                assertTrue(setCookie.endsWith("; SameSite=Strict"), setCookie);
            } finally {
                server.close();
                retriever.close();
            }
        });
        test.completeNow();
    }
}
