package dev.vertxsessions.file;

import static dev.vertxsessions.NearCacheProbe.await;
import static dev.vertxsessions.NearCacheProbe.awaitHit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.NearCacheProbe;
import dev.vertxsessions.NearCacheProbe.Jar;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.TestServer;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The near cache on the file backend, where it differs from the others: a save's own result is cached from inside
 * its lock, a second process's writes are seen through the directory watch, markers do not stay. What every backend
 * with a near cache must do across servers is the test kit's {@code NearCacheContract}, run on files by
 * {@code FileContractTest}. Waits are for conditions, never for a time.
 */
@ExtendWith(VertxExtension.class)
class FileNearCacheTest {

    @TempDir
    Path dir;

    private Vertx vertx;
    private TestServer a;

    @BeforeEach
    void start(Vertx vertx) {
        this.vertx = vertx;
        a = server();
    }

    private TestServer server() {
        SessionConfig config = new SessionConfig()
                .setBackend(FileSessionInterface.factory(new FileSessionOptions().setDirectory(dir)))
                .setNearCache(true);
        return TestServer.start(vertx, config, FileNearCacheTest::routes);
    }

    private static void routes(Router router) {
        NearCacheProbe.routes(router);
        FileBackendTest.routes(router); // "/" counts in "counter" as the seed does, "/peek" reads it
    }

    /** Returns what the session file of {@code id} holds now, as JSON. */
    private String fileJson(String id) throws Exception {
        byte[] file = Files.readAllBytes(dir.resolve("session_" + id));
        SessionFileLayout.Version version = SessionFileLayout.read(file);
        assertNotNull(version, "the file holds a valid version");
        return new String(version.json, StandardCharsets.UTF_8);
    }

    @Test
    void aSavesOwnResult_isCached_soThatReadsAfterItTouchNoFile(VertxTestContext test) {
        test.verify(() -> {
            Jar jar = new Jar();
            assertEquals("1", jar.get(a, "/counter"));
            assertTrue(jar.cookie.matches("[A-Za-z0-9_-]{43}\\.[A-Za-z0-9_-]{11}"), jar.cookie);
            awaitHit(a, jar, "1");
            String first = jar.cookie;
            assertEquals("2", jar.get(a, "/counter")); // a hit, then the save
            assertNotEquals(first, jar.cookie, "every save changes the version the cookie carries");
            long hits = a.middleware.metrics().nearCacheHits();
            long misses = a.middleware.metrics().nearCacheMisses();
            for (int i = 3; i <= 12; i++) {
                assertEquals(Integer.toString(i), jar.get(a, "/counter"));
                assertEquals(Integer.toString(i), jar.get(a, "/read"));
            }
            // The save's own report, made inside its lock, caches its result: no load in between.
            assertEquals(misses, a.middleware.metrics().nearCacheMisses());
            assertEquals(hits + 20, a.middleware.metrics().nearCacheHits());
            assertEquals(1, a.middleware.metrics().nearCacheEntries());
            assertTrue(fileJson(jar.id()).contains("\"counter\":12"), fileJson(jar.id()));
        });
        test.completeNow();
    }

    @Test
    void aWriteByAnotherProcess_dropsTheCopy_andIsReadFromTheFile(VertxTestContext test) {
        test.verify(() -> {
            FileServerMain.Child child = FileServerMain.startChild(dir, "near-cache");
            try {
                assertTrue(child.port() > 0, "the second process started");
                Jar jar = new Jar();
                assertEquals("You've visited this page 1 times", jar.get(a, "/"));
                await("the near cache never answered", () -> {
                    long before = a.middleware.metrics().nearCacheHits();
                    assertEquals("1", jar.get(a, "/peek"));
                    return a.middleware.metrics().nearCacheHits() > before;
                });
                String older = jar.cookie;
                long invalidations = a.middleware.metrics().nearCacheInvalidations();
                HttpResponse<Buffer> other = a.client
                        .request(HttpMethod.GET, child.port(), "127.0.0.1", "/")
                        .putHeader("cookie", "session_id=" + jar.cookie)
                        .send()
                        .await();
                assertEquals("You've visited this page 2 times", jar.keep(other));
                assertNotEquals(older, jar.cookie, "the other process's save gave the session a new version");
                await(
                        "a never heard of the other process's write",
                        () -> a.middleware.metrics().nearCacheInvalidations() > invalidations);
                Jar late = new Jar();
                late.cookie = older;
                assertEquals("2", late.get(a, "/peek"));
                assertEquals("2", jar.get(a, "/peek"));
                assertEquals("You've visited this page 3 times", jar.get(a, "/"));
            } finally {
                child.process().destroyForcibly().waitFor();
            }
        });
        test.completeNow();
    }

    @Test
    void markerFiles_doNotStayInTheDirectory(VertxTestContext test) {
        test.verify(() -> {
            Jar jar = new Jar();
            jar.get(a, "/counter");
            awaitHit(a, jar, "1"); // markers have come back
            await("a marker file stayed", () -> {
                try (var names = Files.list(dir)) {
                    return names.noneMatch(
                            p -> p.getFileName().toString().startsWith(FileInvalidations.MARKER_PREFIX) && isOld(p));
                } catch (java.io.IOException e) {
                    return false;
                }
            });
        });
        test.completeNow();
    }

    private static boolean isOld(Path marker) {
        try {
            return System.currentTimeMillis()
                            - Files.getLastModifiedTime(marker).toMillis()
                    > 2000;
        } catch (java.io.IOException e) {
            return false; // deleted meanwhile
        }
    }
}
