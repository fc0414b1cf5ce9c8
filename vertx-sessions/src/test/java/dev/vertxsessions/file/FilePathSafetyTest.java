package dev.vertxsessions.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.TestServer;
import dev.vertxsessions.internal.SessionIds;
import dev.vertxsessions.security.HostileCookieContract;
import dev.vertxsessions.security.HostileCookies;
import dev.vertxsessions.security.RawHttp;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Path safety of the file backend: no cookie value makes it open, create, modify or delete anything outside its
 * directory, and reading never creates anything. The whole temp tree (paths, types, sizes, modification times) is
 * snapshotted before and after thousands of hostile cookies, with decoy session files placed where a traversal
 * would land: {@code ../session_<id>} next to the session directory and {@code ../decoy/session_<id>}. The decoys'
 * access times catch an open that changes nothing (where the file system tracks access times).
 */
@Tag("slow") // thousands of hostile cookies against a snapshotted tree; excluded by the fast set
// (-DexcludedGroups=slow)
@ExtendWith(VertxExtension.class)
class FilePathSafetyTest {

    private static final String PREFIX = "session_";

    /**
     * The temp tree of a test. A field, not a test parameter: it is created before the test's Vert.x instance and
     * deleted only once that instance is closed.
     */
    @TempDir
    Path root;

    private Vertx vertx;

    @BeforeEach
    void startVertx(Vertx vertx) {
        this.vertx = vertx;
    }

    private static void routes(Router router) {
        router.get("/probe")
                .handler(ctx -> ctx.response()
                        .end(HostileCookieContract.state(SessionMiddleware.session(ctx))
                                .encode()));
        router.get("/logout").handler(ctx -> {
            JsonObject before = HostileCookieContract.state(SessionMiddleware.session(ctx));
            SessionMiddleware.session(ctx).invalidate();
            ctx.response().end(before.encode());
        });
        router.get("/clear").handler(ctx -> {
            JsonObject before = HostileCookieContract.state(SessionMiddleware.session(ctx));
            SessionMiddleware.session(ctx).clear();
            ctx.response().end(before.encode());
        });
        router.get("/touch").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            JsonObject before = HostileCookieContract.state(session);
            session.put("touched", true);
            session.commit()
                    .onComplete(ar -> ctx.response()
                            .setStatusCode(ar.succeeded() ? 200 : 503)
                            .end(before.encode()));
        });
        router.get("/count").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            JsonObject before = HostileCookieContract.state(session);
            session.increment("n")
                    .onComplete(ar -> ctx.response()
                            .setStatusCode(ar.succeeded() ? 200 : 503)
                            .end(before.encode()));
        });
        router.get("/regenerate").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            JsonObject before = HostileCookieContract.state(session);
            session.put("user", "someone");
            session.regenerate();
            session.commit()
                    .onComplete(ar -> ctx.response()
                            .setStatusCode(ar.succeeded() ? 200 : 503)
                            .end(before.encode()));
        });
        router.get("/login").handler(ctx -> {
            SessionMiddleware.session(ctx).put("user", "alice");
            ctx.response().end();
        });
    }

    private TestServer start(Path sessions) {
        return TestServer.start(
                vertx,
                new SessionConfig().setBackend(FileSessionInterface.factory(sessions, PREFIX)),
                FilePathSafetyTest::routes);
    }

    @Test
    void hostileCookies_touchNothingOutsideTheDirectory_andReadsCreateNothing(VertxTestContext test) {
        test.verify(() -> {
            Path sessions = root.resolve("sessions");
            String besideId = SessionIds.generate();
            String decoyId = SessionIds.generate();
            Files.createDirectories(root.resolve("decoy"));
            Path beside = root.resolve(PREFIX + besideId);
            Path decoy = root.resolve("decoy").resolve(PREFIX + decoyId);
            Files.write(beside, sessionFile("mallory-beside"));
            Files.write(decoy, sessionFile("mallory-decoy"));
            Files.writeString(root.resolve("decoy").resolve(".vertx-sessions.lock"), "");
            // Access time equal to modification time: with the usual relatime mount option, the next open-and-read of a
            // decoy
            // updates its access time, which is how an opened decoy is caught.
            FileTime anHourAgo = FileTime.from(Instant.now().minusSeconds(3600));
            for (Path file : List.of(beside, decoy)) {
                Files.getFileAttributeView(file, BasicFileAttributeView.class).setTimes(anHourAgo, anHourAgo, null);
            }

            try (TestServer server = start(sessions);
                    RawHttp raw = new RawHttp(vertx, server.port())) {
                String genuine = TestServer.cookieValue(
                        TestServer.setCookie(server.client.get("/login").send().await(), "session_id"));
                // The genuine session's file is written when the headers go out; a read of it waits for that write.
                assertEquals(false, new JsonObject(HostileCookieContract.probe(raw, genuine).body).getBoolean("isNew"));

                List<String> hostile = new ArrayList<>();
                for (HostileCookies.Case c : new HostileCookies(
                                HostileCookies.seed(), List.of(genuine), HostileCookieContract.maxValueChars())
                        .generate(150)) {
                    hostile.add(c.value);
                }
                hostile.addAll(aimedAt(root, sessions, genuine, besideId, decoyId));

                // Phase 1: reads, logouts and clears with hostile cookies change nothing anywhere, not even
                // a timestamp.
                Map<String, String> before = snapshot(root);
                List<String> paths = List.of("/probe", "/logout", "/clear");
                List<RawHttp.Response> responses = sendEach(raw, hostile, paths);
                assertAllFresh(hostile, responses, paths);
                assertEquals(
                        before, snapshot(root), "a read, logout or clear with a hostile cookie changed the file tree");

                // Phase 2: writes with hostile cookies create exactly one new, well-named session file each, inside the
                // directory; everything that existed before is untouched.
                List<String> writes = hostile.subList(0, 300);
                List<String> writePaths = List.of("/touch", "/count", "/regenerate");
                List<RawHttp.Response> written = sendEach(raw, writes, writePaths);
                assertAllFresh(writes, written, writePaths);
                Map<String, String> after = snapshot(root);
                List<String> created = new ArrayList<>();
                for (Map.Entry<String, String> entry : before.entrySet()) {
                    if (entry.getKey().equals("sessions")) {
                        continue; // the directory's own mtime changes when files are added to it
                    }
                    assertEquals(entry.getValue(), after.get(entry.getKey()), "changed by a write: " + entry.getKey());
                }
                for (String path : after.keySet()) {
                    if (!before.containsKey(path)) {
                        created.add(path);
                    }
                }
                long succeeded = written.stream().filter(r -> r.status == 200).count();
                assertEquals((long) writes.size() * writePaths.size(), succeeded, "every write succeeds");
                assertEquals(succeeded, created.size(), "one new session file per write");
                for (String path : created) {
                    assertTrue(path.startsWith("sessions/" + PREFIX), "created outside the directory: " + path);
                    assertTrue(
                            SessionIds.isWellFormed(path.substring(("sessions/" + PREFIX).length())),
                            "odd name: " + path);
                    assertFalse(SessionFiles.raw(root.resolve(path)).contains("mallory"), path);
                }
                for (Path file : List.of(beside, decoy)) {
                    assertEquals(anHourAgo, accessTime(file), "a decoy outside the directory was opened: " + file);
                }
                assertTrue(SessionFiles.raw(beside).contains("mallory-beside"));
                assertTrue(SessionFiles.raw(decoy).contains("mallory-decoy"));
                boolean atimeWorks = !anHourAgo.equals(accessTime(decoy));
                System.out.println(
                        "FilePathSafetyTest: "
                                + (atimeWorks
                                        ? "access times are tracked here: no decoy was opened"
                                        : "this file system does not update access times (noatime): only changes and served content were checked"));
            }
        });
        test.completeNow();
    }

    @Test
    void missingDirectory_isCreatedAtStartUpOnly_andReadsNeverRecreateIt(VertxTestContext test) {
        test.verify(() -> {
            Path sessions = root.resolve("a").resolve("b").resolve("sessions");
            assertFalse(Files.exists(root.resolve("a")));
            try (TestServer server = start(sessions);
                    RawHttp raw = new RawHttp(vertx, server.port())) {
                assertTrue(Files.isDirectory(sessions), "created at start-up");
                try (Stream<Path> files = Files.list(sessions)) {
                    assertEquals(
                            List.of(".vertx-sessions.lock"),
                            files.map(p -> p.getFileName().toString()).toList());
                }
                List<String> unknown = new ArrayList<>();
                for (int i = 0; i < 300; i++) {
                    unknown.add(SessionIds.generate()); // valid format, no such session
                }
                Map<String, String> before = snapshot(root);
                assertAllFresh(
                        unknown,
                        sendEach(raw, unknown, List.of("/probe", "/logout", "/clear")),
                        List.of("/probe", "/logout", "/clear"));
                assertEquals(before, snapshot(root), "reads of unknown IDs created or changed something");

                // Remove the directory under the running server: reads still answer (fresh sessions), and
                // recreate nothing.
                deleteTree(root.resolve("a"));
                assertAllFresh(unknown, sendEach(raw, unknown, List.of("/probe")), List.of("/probe"));
                assertFalse(Files.exists(root.resolve("a")), "a read recreated the session directory");
            }
        });
        test.completeNow();
    }

    private static FileTime accessTime(Path file) throws IOException {
        return Files.readAttributes(file, BasicFileAttributes.class).lastAccessTime();
    }

    /** Values aimed at the decoys and at the directory's own files. */
    private static List<String> aimedAt(Path root, Path sessions, String genuine, String besideId, String decoyId) {
        List<String> values = new ArrayList<>();
        String[] targets = {
            "../" + PREFIX + besideId,
            "../decoy/" + PREFIX + decoyId,
            "..%2f" + PREFIX + besideId,
            "%2e%2e%2f" + PREFIX + besideId,
            "%2e%2e/decoy/" + PREFIX + decoyId,
            "..\\" + PREFIX + besideId,
            root.resolve(PREFIX + besideId).toString(),
            root.resolve("decoy").resolve(PREFIX + decoyId).toString(),
            "decoy/" + PREFIX + decoyId,
            "../decoy/.vertx-sessions.lock",
            ".vertx-sessions.lock",
            "../.vertx-sessions.lock",
            PREFIX + genuine,
            "./" + genuine,
            genuine + "/",
            genuine + "/../" + genuine,
            "../sessions/" + genuine,
            sessions.resolve(PREFIX + genuine).toString(),
            ".tmp-" + PREFIX + genuine,
            besideId,
            decoyId,
            "/" + besideId,
            "../" + besideId,
            sessions.toString(),
            root.toString(),
            "../sessions",
            ".",
            "..",
            "../..",
            "file://" + root.resolve(PREFIX + besideId),
            "//" + besideId,
            "~/" + besideId
        };
        for (String target : targets) {
            values.add(target);
            values.add(target + "\u0000"); // NUL never reaches a handler: the HTTP layer answers 400
            values.add(target.replace("/", "%2f"));
        }
        return values;
    }

    private static List<RawHttp.Response> sendEach(RawHttp raw, List<String> values, List<String> paths)
            throws InterruptedException {
        List<byte[]> requests = new ArrayList<>();
        for (String path : paths) {
            for (String value : values) {
                requests.add(RawHttp.get(path, "session_id=" + value));
            }
        }
        return raw.sendAll(requests, HostileCookieContract.IN_FLIGHT);
    }

    private static void assertAllFresh(List<String> values, List<RawHttp.Response> responses, List<String> paths) {
        for (int i = 0; i < responses.size(); i++) {
            String value = values.get(i % values.size());
            byte[] request = RawHttp.get(paths.get(i / values.size()), "session_id=" + value);
            RawHttp.Response response = responses.get(i);
            String what = paths.get(i / values.size()) + " with " + HostileCookies.printable(value);
            if (RawHttp.hasControlChars(request)) {
                assertEquals(400, response.status, what);
            } else if (RawHttp.headerBytes(request) > io.vertx.core.http.HttpServerOptions.DEFAULT_MAX_HEADER_SIZE) {
                assertEquals(431, response.status, what);
            } else {
                assertEquals(200, response.status, what);
                assertEquals(HostileCookieContract.FRESH, response.body, what);
            }
        }
    }

    /** Every entry under {@code root}: relative path → type, size and modification time in nanoseconds. */
    static Map<String, String> snapshot(Path root) throws IOException {
        Map<String, String> entries = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path path : (Iterable<Path>) walk::iterator) {
                BasicFileAttributes attributes =
                        Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                String type = attributes.isDirectory() ? "dir" : attributes.isSymbolicLink() ? "link" : "file";
                entries.put(
                        root.relativize(path).toString().replace('\\', '/'),
                        type + " " + attributes.size() + " "
                                + attributes.lastModifiedTime().toInstant());
            }
        }
        return entries;
    }

    private static byte[] sessionFile(String user) {
        long now = System.currentTimeMillis();
        return SessionFiles.of(new JsonObject()
                .put("version", 1)
                .put("created", now)
                .put("expires", now + 3_600_000)
                .putNull("expiry")
                .put("data", new JsonObject().put("user", user))
                .encode());
    }

    private static void deleteTree(Path top) throws IOException {
        try (Stream<Path> walk = Files.walk(top)) {
            for (Path path :
                    walk.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
                Files.delete(path);
            }
        }
    }
}
