package dev.vertxsessions.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMetrics;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.TestServer;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.Session;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The near cache on the file backend: two middleware instances on two HTTP servers share one directory (and, in one
 * test, a second process does), and one browser (one cookie) goes from one to the other. Waits are for conditions (a
 * hit counted, an invalidation heard), never for a time.
 */
@ExtendWith(VertxExtension.class)
class FileNearCacheTest {

    @TempDir
    Path dir;

    private Vertx vertx;
    private TestServer a;
    private TestServer b;

    @BeforeEach
    void start(Vertx vertx) {
        this.vertx = vertx;
        a = server();
        b = server();
    }

    private TestServer server() {
        SessionConfig config = new SessionConfig()
                .setBackend(FileSessionInterface.factory(new FileSessionOptions().setDirectory(dir)))
                .setNearCache(true);
        return TestServer.start(vertx, config, FileNearCacheTest::routes);
    }

    private static void routes(Router router) {
        FileBackendTest.routes(router); // "/" counts in "counter", "/inc" increments "n" atomically, "/n" reads it
        router.get("/counter").handler(ctx -> {
            Session session = ctx.session();
            Integer counter = session.get("counter");
            int next = (counter == null ? 0 : counter) + 1;
            session.put("counter", next);
            SessionMiddleware.session(ctx) // answers once the save is stored
                    .commit()
                    .onSuccess(v -> ctx.end(Integer.toString(next)))
                    .onFailure(ctx::fail);
        });
        router.get("/read").handler(ctx -> {
            Object counter = ctx.session().get("counter");
            ctx.end(String.valueOf(counter == null ? 0 : counter));
        });
    }

    /** Sends requests with one cookie and keeps whatever cookie the responses set. */
    private static final class Jar {
        String cookie;

        String get(TestServer server, String path) {
            return keep(server.get(path, cookie));
        }

        String keep(HttpResponse<Buffer> response) {
            assertEquals(200, response.statusCode(), response.bodyAsString());
            String set = TestServer.setCookie(response, "session_id");
            if (set != null) {
                cookie = TestServer.cookieValue(set);
            }
            return response.bodyAsString();
        }

        String id() {
            return cookie.substring(0, 43);
        }
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        for (int i = 0; i < 3000 && !condition.getAsBoolean(); i++) {
            Thread.sleep(10);
        }
        assertTrue(condition.getAsBoolean(), what);
    }

    /** Reads until {@code server} answers from its cache (its watch is proven once it starts). */
    private static void awaitHit(TestServer server, Jar jar, String expected) throws InterruptedException {
        SessionMetrics metrics = server.middleware.metrics();
        long before = metrics.nearCacheHits();
        await("the near cache never answered", () -> {
            assertEquals(expected, jar.get(server, "/read"));
            return metrics.nearCacheHits() > before;
        });
    }

    /** Returns what the session file of {@code id} holds now, as JSON. */
    private String fileJson(String id) throws Exception {
        byte[] file = Files.readAllBytes(dir.resolve("session_" + id));
        SessionFileLayout.Version version = SessionFileLayout.read(file);
        assertNotNull(version, "the file holds a valid version");
        return new String(version.json, StandardCharsets.UTF_8);
    }

    @Test
    void aSavesOwnResult_isCached_soThatReadsAfterItTouchNoFile() throws Exception {
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
    }

    @Test
    void oneBrowserAlternatingServers_seesEveryWrite_andLosesNone() throws Exception {
        Jar jar = new Jar();
        jar.get(a, "/counter");
        awaitHit(a, jar, "1");
        awaitHit(b, jar, "1");
        int staleReads = 0;
        for (int i = 2; i <= 60; i++) {
            TestServer writer = i % 2 == 0 ? a : b;
            TestServer reader = i % 2 == 0 ? b : a;
            assertEquals(Integer.toString(i), jar.get(writer, "/counter"), "a lost write");
            if (!jar.get(reader, "/read").equals(Integer.toString(i))) {
                staleReads++;
            }
        }
        assertEquals(0, staleReads);
        assertTrue(fileJson(jar.id()).contains("\"counter\":60"), fileJson(jar.id()));
        assertTrue(
                a.middleware.metrics().nearCacheHits() + b.middleware.metrics().nearCacheHits() > 0);
    }

    @Test
    void aWriteOnA_dropsBsCopy_soThatARequestWithTheOlderCookieReadsTheFile() throws Exception {
        Jar jar = new Jar();
        jar.get(a, "/counter");
        awaitHit(b, jar, "1");
        String older = jar.cookie; // a request sent before the next response arrived carries it
        long invalidations = b.middleware.metrics().nearCacheInvalidations();
        assertEquals("2", jar.get(a, "/counter"));
        await("b never heard of the write", () -> b.middleware.metrics().nearCacheInvalidations() > invalidations);
        Jar late = new Jar();
        late.cookie = older;
        assertEquals("2", late.get(b, "/read"));
    }

    @Test
    void anAtomicUpdateOnA_dropsBsCopy_andBReadsTheUpdatedValue() throws Exception {
        Jar jar = new Jar();
        jar.get(a, "/counter");
        awaitHit(b, jar, "1");
        long invalidations = b.middleware.metrics().nearCacheInvalidations();
        String before = jar.cookie;
        assertEquals("1", jar.get(a, "/inc"));
        await("b never heard of the update", () -> b.middleware.metrics().nearCacheInvalidations() > invalidations);
        Jar late = new Jar();
        late.cookie = before;
        assertEquals("1", late.get(b, "/n"));
        assertEquals("1", jar.get(b, "/n"));
        assertFalse(fileJson(jar.id()).contains("\"n\":0"));
    }

    @Test
    void logoutOnA_makesBRefuseTheOldCookie_andAReplayIsNeverServedFromTheCache() throws Exception {
        Jar jar = new Jar();
        jar.get(a, "/counter");
        awaitHit(b, jar, "1");
        String old = jar.cookie;
        long invalidations = b.middleware.metrics().nearCacheInvalidations();
        HttpResponse<Buffer> logout = a.post("/logout", old); // clears the session: an empty one is not stored
        assertEquals(302, logout.statusCode());
        await("b never heard of the logout", () -> b.middleware.metrics().nearCacheInvalidations() > invalidations);
        Jar replay = new Jar();
        replay.cookie = old;
        assertEquals("0", replay.get(b, "/read"), "the logged-out session was served");
        assertEquals("0", replay.get(a, "/read"));
        assertFalse(Files.exists(dir.resolve("session_" + old.substring(0, 43))));
    }

    @Test
    void adminDeleteOnA_makesBRefuseTheCookie(VertxTestContext test) throws Exception {
        Jar jar = new Jar();
        jar.get(a, "/counter");
        awaitHit(b, jar, "1");
        long invalidations = b.middleware.metrics().nearCacheInvalidations();
        a.middleware.sessions().delete(jar.id()).onComplete(test.succeedingThenComplete());
        assertTrue(test.awaitCompletion(10, java.util.concurrent.TimeUnit.SECONDS));
        await("b never heard of the deletion", () -> b.middleware.metrics().nearCacheInvalidations() > invalidations);
        String old = jar.cookie;
        assertEquals("0", jar.get(b, "/read"));
        assertFalse(Files.exists(dir.resolve("session_" + old.substring(0, 43))));
    }

    @Test
    void aWriteByAnotherProcess_dropsTheCopy_andIsReadFromTheFile() throws Exception {
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
    }

    @Test
    void markerFiles_doNotStayInTheDirectory() throws Exception {
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
