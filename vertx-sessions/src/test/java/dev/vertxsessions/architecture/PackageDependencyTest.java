package dev.vertxsessions.architecture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.spi.ToolProvider;
import org.junit.jupiter.api.Test;

/**
 * The shape ARCHITECTURE.md promises, checked with the JDK's jdeps on the compiled library: the API package and
 * the internal package depend on no backend package, and no backend depends on another.
 */
class PackageDependencyTest {

    private static final String ROOT = "dev.vertxsessions";
    private static final Set<String> BACKENDS =
            Set.of(ROOT + ".signedcookies", ROOT + ".file", ROOT + ".redis", ROOT + ".memory", ROOT + ".vertxweb");

    @Test
    void apiAndInternalPackages_importNoBackend_andNoBackendImportsAnother() {
        Path classes = Path.of("target", "classes");
        assertTrue(Files.isDirectory(classes.resolve("dev/vertxsessions")), "compiled classes at " + classes);
        ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElseThrow(() -> new AssertionError("jdeps is missing"));
        StringWriter out = new StringWriter();
        int status = jdeps.run(
                new PrintWriter(out),
                new PrintWriter(out),
                "-verbose:package",
                "-filter:none",
                "--ignore-missing-deps",
                classes.toString());
        assertEquals(0, status, out.toString());

        List<String> edges = new ArrayList<>();
        for (String line : out.toString().split("\n")) {
            // "   dev.vertxsessions.file   -> dev.vertxsessions   classes"
            String[] parts = line.trim().split("\\s+");
            if (parts.length >= 3 && parts[1].equals("->") && parts[0].startsWith(ROOT) && parts[2].startsWith(ROOT)) {
                edges.add(parts[0] + " -> " + parts[2]);
            }
        }
        assertTrue(edges.contains(ROOT + ".file -> " + ROOT), "jdeps output was read: " + edges);
        Set<String> forbidden = new TreeSet<>();
        for (String edge : edges) {
            String[] ends = edge.split(" -> ");
            boolean fromCore = ends[0].equals(ROOT) || ends[0].equals(ROOT + ".internal");
            boolean toBackend = BACKENDS.contains(ends[1]);
            boolean betweenBackends = BACKENDS.contains(ends[0]) && toBackend && !ends[0].equals(ends[1]);
            if ((fromCore && toBackend) || betweenBackends) {
                forbidden.add(edge);
            }
        }
        assertEquals(Set.of(), forbidden);
    }
}
