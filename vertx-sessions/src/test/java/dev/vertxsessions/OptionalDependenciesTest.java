package dev.vertxsessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The optional dependencies stay optional: without the Redis client, Caffeine, vertx-health-check, Micrometer, OpenTelemetry
 * and vertx-config on the class path, an application starts and serves sessions (signed cookies, files), and
 * choosing Redis fails at start-up naming the dependency. Runs {@link MinimalAppMain} in its own JVM; no Vert.x
 * runs in this test's own JVM.
 */
class OptionalDependenciesTest {

    private static final List<String> OPTIONAL = List.of(
            "vertx-redis-client",
            "vertx-health-check",
            "vertx-micrometer-metrics",
            "micrometer-",
            "vertx-opentelemetry",
            "opentelemetry-",
            "vertx-config",
            "caffeine-");

    @Test
    void applicationWithoutTheOptionalDependencies_startsAndServesSessions() throws Exception {
        List<String> classPath = Arrays.stream(
                        System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(entry -> OPTIONAL.stream()
                        .noneMatch(
                                name -> Path.of(entry).getFileName().toString().startsWith(name)))
                .toList();
        assertTrue(classPath.stream().anyMatch(entry -> entry.contains("vertx-web-")), "the class path is the test's");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process app = new ProcessBuilder(
                        java, "-cp", String.join(File.pathSeparator, classPath), MinimalAppMain.class.getName())
                .redirectErrorStream(true)
                .start();
        assertTrue(app.waitFor(120, TimeUnit.SECONDS), "the application ended");
        String output = new String(app.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        List<String> lines = output.lines()
                .filter(line -> line.matches("^(signed|file|redis): .*"))
                .collect(Collectors.toList());
        assertEquals(0, app.exitValue(), output);
        assertEquals(3, lines.size(), output);
        assertEquals("signed: You've visited this page 1 times", lines.get(0));
        assertEquals("file: You've visited this page 1 times", lines.get(1));
        assertTrue(lines.get(2).startsWith("redis: ") && lines.get(2).contains("vertx-redis-client"), output);
    }
}
