package dev.vertxsessions.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The demo, started as README starts it (its own JVM), stops cleanly on SIGTERM: Vert.x closes the verticles and
 * the session middleware with them, and nothing is left to time out or to run on a stopped event loop.
 */
@Tag("slow") // excluded by the fast set: mvn -B test -DexcludedGroups=slow
@ExtendWith(VertxExtension.class)
class DemoShutdownTest {

    private static final Pattern LISTENING = Pattern.compile("listening on http://localhost:(\\d+)/");

    @ParameterizedTest
    @ValueSource(strings = {"cookie", "file"})
    void sigterm_stopsTheDemoCleanly(String backend, @TempDir Path directory, Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            String java =
                    Path.of(System.getProperty("java.home"), "bin", "java").toString();
            ProcessBuilder builder = new ProcessBuilder(
                            java, "-cp", System.getProperty("java.class.path"), DemoApp.class.getName())
                    .directory(directory.toFile())
                    .redirectErrorStream(true);
            builder.environment().put("PORT", "0");
            builder.environment().put("SESSION_BACKEND", backend);
            builder.environment().put("SESSION_SECRET", "demo-shutdown-test-secret-0123456789abcdef");
            Process demo = builder.start();
            Queue<String> output = new ConcurrentLinkedQueue<>();
            CompletableFuture<Integer> port = new CompletableFuture<>();
            Thread reader = new Thread(() -> {
                try (BufferedReader lines =
                        new BufferedReader(new InputStreamReader(demo.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = lines.readLine()) != null; ) {
                        output.add(line);
                        Matcher listening = LISTENING.matcher(line);
                        if (listening.find()) {
                            port.complete(Integer.parseInt(listening.group(1)));
                        }
                    }
                } catch (Exception e) {
                    port.completeExceptionally(e);
                }
                port.completeExceptionally(new IllegalStateException("the demo stopped before listening: " + output));
            });
            reader.start();
            try {
                WebClient client = WebClient.create(vertx);
                int status = client.get(port.get(60, TimeUnit.SECONDS), "localhost", "/")
                        .send()
                        .await()
                        .statusCode();
                assertEquals(200, status);
                client.close();
                demo.toHandle().destroy(); // SIGTERM (Process.destroy() would also close our end of its output)
                assertTrue(demo.waitFor(60, TimeUnit.SECONDS), "the demo stopped");
                reader.join(10_000);
                assertEquals(143, demo.exitValue(), "ended by SIGTERM after its shutdown hook: " + output);
                String log = String.join("\n", output);
                assertTrue(log.endsWith("\nvertx-sessions demo stopped"), log);
                assertTrue(!log.contains("Exception") && !log.contains("did not stop cleanly"), log);
            } finally {
                demo.destroyForcibly();
            }
        });
        test.completeNow();
    }
}
