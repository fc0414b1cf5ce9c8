package dev.vertxsessions.vertxweb;

import static dev.vertxsessions.SessionBackend.Capability.SERVER_SIDE;
import static dev.vertxsessions.SessionBackend.Capability.SHARED;
import static dev.vertxsessions.vertxweb.VertxWebStoreBackend.CREATED_KEY;
import static dev.vertxsessions.vertxweb.VertxWebStoreBackend.EXPIRY_KEY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.MultiMapConfig;
import com.hazelcast.config.NetworkConfig;
import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.MutableClock;
import dev.vertxsessions.SessionBackend;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.SessionRoutes;
import dev.vertxsessions.TestChanges;
import dev.vertxsessions.TestServer;
import dev.vertxsessions.internal.SessionIds;
import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.Session;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.ext.web.sstore.AbstractSession;
import io.vertx.ext.web.sstore.ClusteredSessionStore;
import io.vertx.ext.web.sstore.LocalSessionStore;
import io.vertx.ext.web.sstore.SessionStore;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Vert.x-Web's own session stores, run by the middleware through {@link VertxWebStoreBackend}. */
@ExtendWith(VertxExtension.class)
class VertxWebStoreBackendTest {

    static final String COUNTER_PAGE = "You've visited this page %d times";

    MutableClock clock;
    long t0;
    /** The store the backend of {@link #server} runs, as its factory created it. */
    SessionStore store;

    TestServer server;

    static void routes(Router router) {
        SessionRoutes.install(router);
        router.get("/inc")
                .handler(ctx -> SessionMiddleware.session(ctx)
                        .increment("n")
                        .onSuccess(n -> ctx.end(String.valueOf(n)))
                        .onFailure(ctx::fail));
        router.get("/n").handler(TestServer.text(s -> s.get("n", 0)));
        router.get("/has-short").handler(TestServer.text(s -> s.get("short", false)));
    }

    /** Routes for servers on two instances: each write is committed before the answer, for the other to read. */
    static void clusterRoutes(Router router) {
        router.get("/count").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            int count = session.get("counter", 0) + 1;
            session.put("counter", count);
            session.commit().onSuccess(v -> ctx.end("count " + count)).onFailure(ctx::fail);
        });
        router.get("/values/put").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            Map<String, Object> item = new LinkedHashMap<>();
            item.put("sku", "a-1");
            item.put("qty", 2);
            Map<String, Object> cart = new LinkedHashMap<>();
            cart.put("items", List.of(item));
            cart.put("total", 12.5);
            cart.put("note", null);
            session.put("cart", cart);
            session.put("big", new BigInteger("123456789012345678901234567890"));
            session.put("long", 1L << 40);
            session.put("flag", true);
            session.put("name", "Zoë");
            session.commit().onSuccess(v -> ctx.end("stored")).onFailure(ctx::fail);
        });
        router.get("/values/get").handler(TestServer.text(s -> {
            StringBuilder out = new StringBuilder();
            for (String key : List.of("cart", "big", "long", "flag", "name")) {
                Object value = s.get(key);
                out.append(key)
                        .append('=')
                        .append(value)
                        .append(" (")
                        .append(value.getClass().getSimpleName())
                        .append(")\n");
            }
            return out;
        }));
        router.post("/signout").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            session.clear();
            session.commit().onSuccess(v -> ctx.end("bye")).onFailure(ctx::fail);
        });
    }

    @BeforeEach
    void setUp() {
        t0 = System.currentTimeMillis(); // real time: the local store's reaper measures with it
        clock = new MutableClock(Instant.ofEpochMilli(t0));
    }

    @AfterEach
    void tearDown() {
        if (server != null) {
            server.close();
        }
    }

    /** Starts a server whose sessions live in a {@link LocalSessionStore}. */
    void startLocal(Vertx vertx, SessionConfig config) {
        server = TestServer.start(
                vertx,
                config.setClock(clock)
                        .setBackend(VertxWebStoreBackend.factory(v -> store = LocalSessionStore.create(v))),
                VertxWebStoreBackendTest::routes);
    }

    static String page(int count) {
        return String.format(COUNTER_PAGE, count);
    }

    // ------------------------------------------------------------------ LocalSessionStore

    @Test
    void counter_keepsCountingInTheStore(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            startLocal(vertx, new SessionConfig());
            HttpResponse<Buffer> first = server.get("/");
            assertEquals(page(1), first.bodyAsString());
            String id = TestServer.sessionCookie(first);
            HttpResponse<Buffer> second = server.get("/", id);
            assertEquals(page(2), second.bodyAsString());
            assertSameSessionOrNoCookie(id, second);
            assertEquals("2", server.get("/peek", id).bodyAsString());

            Session stored = store.get(id).await();
            assertEquals(Map.of("counter", 2, CREATED_KEY, t0), stored.data());
            assertEquals(id, stored.id());
            assertEquals(t0, stored.lastAccessed());
            assertEquals(86_400_000L, stored.timeout());
            assertEquals(1, store.size().await());
        });
        test.completeNow();
    }

    @Test
    void login_regeneratesTheId_andTheOldIdIsDead(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            startLocal(vertx, new SessionConfig());
            String anonymous = TestServer.sessionCookie(server.get("/"));
            HttpResponse<Buffer> login = server.post("/login", anonymous);
            String loggedIn = TestServer.sessionCookie(login);
            assertNotEquals(anonymous, loggedIn);
            assertEquals(anonymous + " " + loggedIn, login.bodyAsString());
            assertEquals("1", server.get("/peek", loggedIn).bodyAsString(), "the data moved to the new ID");

            assertNull(store.get(anonymous).await());
            assertEquals(
                    Map.of("counter", 1, "user_id", "alice", CREATED_KEY, t0, BaseSessionInterface.PROMOTED_KEY, true),
                    store.get(loggedIn).await().data());
            HttpResponse<Buffer> old = server.get("/peek", anonymous);
            assertEquals("0", old.bodyAsString(), "the pre-login ID loads nothing");
            assertNull(TestServer.setCookie(old, "session_id"));
            assertEquals(1, store.size().await());
        });
        test.completeNow();
    }

    @Test
    void logout_expiresTheCookie_andDeletesTheSession(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            startLocal(vertx, new SessionConfig());
            String id = TestServer.sessionCookie(server.get("/"));
            HttpResponse<Buffer> logout = server.post("/logout", id);
            assertEquals(302, logout.statusCode());
            String cookie = TestServer.setCookie(logout, "session_id");
            assertTrue(cookie.startsWith("session_id=; Max-Age=0;"), cookie);

            assertEquals("0", server.get("/peek", id).bodyAsString());
            assertNull(store.get(id).await());
            assertEquals(0, store.size().await());
            assertEquals(1, server.middleware.metrics().deletes());
        });
        test.completeNow();
    }

    @Test
    void expiry_isEnforcedAlthoughTheStoreStillHoldsTheSession(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            startLocal(vertx, new SessionConfig().setExpiry(Duration.ofSeconds(60)));
            String id = TestServer.sessionCookie(server.get("/"));
            assertEquals(60_000L, store.get(id).await().timeout());

            clock.advance(Duration.ofSeconds(61));
            assertNotNull(store.get(id).await(), "the store measures in real time: it has not dropped the session");
            HttpResponse<Buffer> after = server.get("/", id);
            assertEquals(page(1), after.bodyAsString());
            assertNotEquals(id, TestServer.sessionCookie(after), "an expired session's ID is never reused");
            assertEquals(1, server.middleware.metrics().expiredSessions());
        });
        test.completeNow();
    }

    @Test
    void perSessionExpiry_isStoredAndEnforced(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            startLocal(vertx, new SessionConfig());
            String id = TestServer.sessionCookie(server.get("/short"));
            Session stored = store.get(id).await();
            assertEquals(Map.of("short", true, CREATED_KEY, t0, EXPIRY_KEY, 1_800_000L), stored.data());
            assertEquals(1_800_000L, stored.timeout());

            clock.advance(Duration.ofSeconds(1799));
            assertEquals("true", server.get("/has-short", id).bodyAsString());
            clock.advance(Duration.ofSeconds(2));
            assertEquals("false", server.get("/has-short", id).bodyAsString());
            assertEquals(1, server.middleware.metrics().expiredSessions());
        });
        test.completeNow();
    }

    @Test
    void update_isAppliedLocally_andSavedWithTheSession(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            startLocal(vertx, new SessionConfig());
            HttpResponse<Buffer> first = server.get("/inc");
            assertEquals("1", first.bodyAsString());
            String id = TestServer.sessionCookie(first);
            assertEquals("2", server.get("/inc", id).bodyAsString());
            assertEquals("3", server.get("/inc", id).bodyAsString());
            assertEquals("3", server.get("/n", id).bodyAsString());
            assertEquals(Map.of("n", 3, CREATED_KEY, t0), store.get(id).await().data());
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ the backend alone

    @Test
    void saveAfterDelete_writesNothing_andAParallelWriteIsRetriedUntilTheLastSaveWins(
            Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            GatedStore gated = new GatedStore(LocalSessionStore.create(vertx));
            SessionBackend backend = VertxWebStoreBackend.factory(v -> gated).create(vertx, new SessionConfig());
            String id = SessionIds.generate();
            long expires = t0 + 60_000;
            assertTrue(
                    backend.save(TestChanges.put(id, true, "a", 1, t0, expires)).await());

            gated.holdNextRead();
            Future<Boolean> slow = backend.save(TestChanges.put(id, false, "b", 2, t0, expires)); // has read version 1
            assertTrue(backend.save(TestChanges.put(id, false, "c", 3, t0, expires))
                    .await()); // stores version 2
            gated.release(); // the slow save's write is refused ("Session version mismatch"), it reads again and writes
            assertTrue(slow.await());
            assertEquals(
                    Map.of("b", 2, CREATED_KEY, t0),
                    gated.delegate.get(id).await().data(),
                    "the last save wins, whole");
            assertEquals(List.of("write", "read", "read", "write", "write", "read", "write"), gated.calls);

            backend.delete(id).await();
            assertFalse(
                    backend.save(TestChanges.put(id, false, "d", 4, t0, expires))
                            .await(),
                    "no resurrection");
            assertEquals("read", gated.calls.get(gated.calls.size() - 1), "read, found nothing, wrote nothing");
            assertNull(gated.delegate.get(id).await());
            backend.close().await();
        });
        test.completeNow();
    }

    @Test
    void capabilities_sharedForAClusteredStoreOrWhenDeclared(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            SessionConfig config = new SessionConfig();
            List<SessionBackend> backends = List.of(
                    VertxWebStoreBackend.factory(LocalSessionStore::create).create(vertx, config),
                    VertxWebStoreBackend.factory(LocalSessionStore::create, true)
                            .create(vertx, config),
                    VertxWebStoreBackend.factory(ClusteredSessionStore::create).create(vertx, config));
            assertEquals(EnumSet.of(SERVER_SIDE), backends.get(0).capabilities());
            assertEquals(EnumSet.of(SERVER_SIDE, SHARED), backends.get(1).capabilities());
            assertEquals(EnumSet.of(SERVER_SIDE, SHARED), backends.get(2).capabilities());
            backends.forEach(backend -> backend.close().await());
        });
        test.completeNow();
    }

    @Test
    void storeWhoseSessionsCannotTakeOurIds_isRefusedAtStartUp_andClosed(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            PlainSessionStore plain = new PlainSessionStore(LocalSessionStore.create(vertx));
            SessionConfig config = new SessionConfig().setBackend(VertxWebStoreBackend.factory(v -> plain));
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> SessionMiddleware.create(vertx, config));
            assertEquals(
                    "manager: " + PlainSessionStore.class.getName() + " cannot be used: the store's "
                            + "createSession(timeout) returned a " + PlainSession.class.getName()
                            + "; the vertxweb backend needs an empty "
                            + "AbstractSession that is ClusterSerializable, as Vert.x-Web's own stores create",
                    e.getMessage());
            assertTrue(plain.closed.get());
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ event loops

    /**
     * The store is created on one verticle's event loop and completes every call there, its writes 200 ms late; two
     * server instances on other event loops share the middleware, and take turns. Request 2 waits for the write of
     * request 1 (made from the other server's loop); request 3 loads, then answers once its own write is done
     * ({@code commit()}); request 4 loads. Each request still runs on the event loop it arrived on.
     */
    @Test
    void storeBoundToAnotherEventLoop_servesEveryRequestOnItsOwnLoop(Vertx vertx, VertxTestContext test)
            throws IOException {
        int port = freePorts(1)[0];
        AtomicReference<SessionMiddleware> middleware = new AtomicReference<>();
        AtomicReference<String> storeThread = new AtomicReference<>();
        Router router = Router.router(vertx);
        router.route().handler(ctx -> {
            ctx.put("arrival", Thread.currentThread());
            ctx.next();
        });
        router.route().handler(ctx -> middleware.get().handle(ctx));
        router.get("/:then").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            int count = session.get("counter", 0) + 1;
            session.put("counter", count);
            Future<Void> then = ctx.pathParam("then").equals("commit") ? session.commit() : Future.succeededFuture();
            then.onSuccess(v -> ctx.end(count + " " + (Thread.currentThread() == ctx.get("arrival")) + " "
                            + Thread.currentThread().getName()))
                    .onFailure(ctx::fail);
        });
        WebClient client = WebClient.create(
                vertx,
                new WebClientOptions()
                        .setDefaultHost("127.0.0.1")
                        .setDefaultPort(port)
                        .setKeepAlive(false)); // a connection per request: the servers take turns
        List<String> bodies = new ArrayList<>();
        Function<String, Function<String, Future<String>>> request = path ->
                cookie -> client.get(path).putHeader("cookie", cookie).send().map(response -> {
                    bodies.add(response.bodyAsString());
                    return cookie;
                });

        vertx.deployVerticle(new VerticleBase() {
                    @Override
                    public Future<?> start() {
                        storeThread.set(Thread.currentThread().getName());
                        middleware.set(SessionMiddleware.create(
                                vertx,
                                new SessionConfig()
                                        .setBackend(VertxWebStoreBackend.factory(v -> new ContextBoundStore(
                                                LocalSessionStore.create(v), v.getOrCreateContext(), 200)))));
                        return middleware.get().ready();
                    }
                })
                .compose(owner -> vertx.deployVerticle(
                        () -> new VerticleBase() {
                            @Override
                            public Future<?> start() {
                                return vertx.createHttpServer()
                                        .requestHandler(router)
                                        .listen(port, "127.0.0.1");
                            }
                        },
                        new DeploymentOptions().setInstances(2)))
                .compose(servers -> client.get("/end").send())
                .map(first -> {
                    bodies.add(first.bodyAsString());
                    return "session_id=" + TestServer.sessionCookie(first);
                })
                .compose(request.apply("/end")) // waits for the first write
                .compose(cookie -> vertx.timer(400).map(cookie))
                .compose(request.apply("/commit")) // loads, and answers once its write is done
                .compose(request.apply("/end")) // loads
                .onComplete(test.succeeding(cookie -> test.verify(() -> {
                    Set<String> requestThreads = new TreeSet<>();
                    List<String> counts = new ArrayList<>();
                    for (String body : bodies) {
                        String[] parts = body.split(" ");
                        counts.add(parts[0] + " " + parts[1]);
                        requestThreads.add(parts[2]);
                    }
                    assertEquals(List.of("1 true", "2 true", "3 true", "4 true"), counts, String.valueOf(bodies));
                    assertEquals(2, requestThreads.size(), "both server instances answered: " + bodies);
                    assertTrue(
                            requestThreads.stream().anyMatch(thread -> !thread.equals(storeThread.get())),
                            "some requests ran on an event loop other than the store's (" + storeThread.get() + "): "
                                    + bodies);
                    client.close();
                    middleware.get().close().onComplete(test.succeedingThenComplete());
                })));
    }

    // ------------------------------------------------------------------ ClusteredSessionStore on two instances

    @Test
    void clusteredStore_sessionWrittenOnOneInstanceIsReadAndChangedOnAnother(VertxTestContext test) {
        test.verify(() -> {
            int[] ports = freePorts(2);
            String cluster = "vertx-sessions-test-" + UUID.randomUUID();
            Vertx a = clustered(cluster, ports[0], ports);
            Vertx b = null;
            TestServer onA = null;
            TestServer onB = null;
            try {
                b = clustered(cluster, ports[1], ports);
                SessionConfig config =
                        new SessionConfig().setBackend(VertxWebStoreBackend.factory(ClusteredSessionStore::create));
                onA = TestServer.start(a, config, VertxWebStoreBackendTest::clusterRoutes);
                onB = TestServer.start(b, config, VertxWebStoreBackendTest::clusterRoutes);

                HttpResponse<Buffer> first = onA.get("/count");
                assertEquals("count 1", first.bodyAsString());
                String id = TestServer.sessionCookie(first);
                HttpResponse<Buffer> onOther = onB.get("/count", id);
                assertEquals("count 2", onOther.bodyAsString(), "instance B read what A wrote");
                assertSameSessionOrNoCookie(id, onOther);
                assertEquals("count 3", onA.get("/count", id).bodyAsString(), "instance A read what B wrote");

                assertEquals("stored", onB.get("/values/put", id).bodyAsString());
                assertEquals("""
            cart={items=[{sku=a-1, qty=2}], total=12.5, note=null} (LinkedHashMap)
            big=123456789012345678901234567890 (BigInteger)
            long=1099511627776 (Long)
            flag=true (Boolean)
            name=Zoë (String)
            """, onA.get("/values/get", id).bodyAsString(), "values survive serialization");

                Session stored = ClusteredSessionStore.create(b).get(id).await();
                assertEquals(
                        new JsonObject().put("__vertx-sessions.number", "123456789012345678901234567890"),
                        stored.data().get("big"));
                assertEquals(86_400_000L, stored.timeout());

                HttpResponse<Buffer> signout = onB.post("/signout", id);
                assertEquals("bye", signout.bodyAsString());
                assertTrue(TestServer.setCookie(signout, "session_id").startsWith("session_id=; Max-Age=0;"));
                HttpResponse<Buffer> afterSignout = onA.get("/count", id);
                assertEquals("count 1", afterSignout.bodyAsString(), "instance A no longer has the session");
                assertNotEquals(id, TestServer.sessionCookie(afterSignout));
            } finally {
                if (onA != null) {
                    onA.close();
                }
                if (onB != null) {
                    onB.close();
                }
                if (b != null) {
                    b.close().await(); // one at a time: the last member leaves without a hand-over
                }
                a.close().await();
            }
        });
        test.completeNow();
    }

    /** A clustered Vert.x whose Hazelcast member talks only to the members on {@code ports} of 127.0.0.1. */
    static Vertx clustered(String clusterName, int port, int... ports) {
        // What vertx-hazelcast's default-cluster.xml sets, without its 2 s of XML parsing.
        Config config = new Config();
        config.getMultiMapConfig("__vertx.subs")
                .setBackupCount(1)
                .setValueCollectionType(MultiMapConfig.ValueCollectionType.SET);
        config.getMapConfig("__vertx.haInfo").setBackupCount(1);
        config.getMapConfig("__vertx.nodeInfo").setBackupCount(1);
        config.setClusterName(clusterName); // a member of another test run on this machine never joins
        config.setProperty("hazelcast.phone.home.enabled", "false");
        config.setProperty("hazelcast.shutdownhook.enabled", "false");
        config.setProperty("hazelcast.wait.seconds.before.join", "0");
        config.setProperty("hazelcast.partition.count", "11"); // fewer partitions to hand over when a member leaves
        config.setProperty("hazelcast.health.monitoring.level", "OFF");
        NetworkConfig network = config.getNetworkConfig();
        network.setPort(port).setPortAutoIncrement(false);
        network.getInterfaces().setEnabled(true).addInterface("127.0.0.1");
        JoinConfig join = network.getJoin();
        join.getMulticastConfig().setEnabled(false);
        join.getAutoDetectionConfig().setEnabled(false);
        join.getTcpIpConfig().setEnabled(true).setConnectionTimeoutSeconds(1);
        for (int member : ports) {
            join.getTcpIpConfig().addMember("127.0.0.1:" + member);
        }
        return Vertx.builder()
                .with(new VertxOptions()
                        .setEventBusOptions(
                                new EventBusOptions().setHost("127.0.0.1").setPort(0)))
                .withClusterManager(new HazelcastClusterManager(config))
                .buildClustered()
                .await();
    }

    /**
     * Returns {@code count} free ports below Linux's ephemeral range (32768 and up), where no outgoing connection
     * can take one between this check and Hazelcast's bind: the first member connects out to the second's port before
     * the second starts, and an ephemeral port chosen the usual way (bind to 0) could be taken by that connection.
     */
    static int[] freePorts(int count) throws IOException {
        java.util.Random random = new java.util.Random();
        int[] ports = new int[count];
        for (int i = 0; i < count; ) {
            int candidate = 15_000 + random.nextInt(15_000);
            try (ServerSocket socket = new ServerSocket(candidate, 1, InetAddress.getLoopbackAddress())) {
                ports[i] = socket.getLocalPort();
                if (i == 0 || ports[i] != ports[0]) {
                    i++;
                }
            } catch (IOException inUse) {
                // taken: try another
            }
        }
        return ports;
    }

    // ------------------------------------------------------------------ stores for the tests

    /** A store that hands every call to another. */
    static class DelegatingStore implements SessionStore {
        final SessionStore delegate;

        DelegatingStore(SessionStore delegate) {
            this.delegate = delegate;
        }

        @Override
        public SessionStore init(Vertx vertx, JsonObject options) {
            return this;
        }

        @Override
        public long retryTimeout() {
            return delegate.retryTimeout();
        }

        @Override
        public Session createSession(long timeout) {
            return delegate.createSession(timeout);
        }

        @Override
        public Session createSession(long timeout, int length) {
            return delegate.createSession(timeout, length);
        }

        @Override
        public Future<Session> get(String id) {
            return delegate.get(id);
        }

        @Override
        public Future<Void> delete(String id) {
            return delegate.delete(id);
        }

        @Override
        public Future<Void> put(Session session) {
            return delegate.put(session);
        }

        @Override
        public Future<Void> clear() {
            return delegate.clear();
        }

        @Override
        public Future<Integer> size() {
            return delegate.size();
        }

        @Override
        public void close() {
            delegate.close();
        }
    }

    /** A store that works and completes on the context it was created on, wherever it is called from. */
    static final class ContextBoundStore extends DelegatingStore {
        private final Context own;
        private final long writeDelayMillis;

        ContextBoundStore(SessionStore delegate, Context own, long writeDelayMillis) {
            super(delegate);
            this.own = own;
            this.writeDelayMillis = writeDelayMillis;
        }

        private <T> Future<T> onOwn(Supplier<Future<T>> call) {
            Promise<T> promise = Promise.promise();
            own.runOnContext(v -> call.get().onComplete(promise));
            return promise.future();
        }

        @Override
        public Future<Session> get(String id) {
            return onOwn(() -> delegate.get(id));
        }

        @Override
        public Future<Void> delete(String id) {
            return onOwn(() -> delegate.delete(id));
        }

        @Override
        public Future<Void> put(Session session) {
            return onOwn(() -> own.owner().timer(writeDelayMillis).compose(t -> delegate.put(session)));
        }
    }

    /** A store that logs its calls and can hold the answer of the next read until released. */
    static final class GatedStore extends DelegatingStore {
        final List<String> calls = new ArrayList<>();
        private boolean holdNext;
        private Promise<Void> gate;

        GatedStore(SessionStore delegate) {
            super(delegate);
        }

        void holdNextRead() {
            holdNext = true;
        }

        void release() {
            gate.complete();
        }

        @Override
        public Future<Session> get(String id) {
            calls.add("read");
            Future<Session> read = delegate.get(id);
            if (!holdNext) {
                return read;
            }
            holdNext = false;
            gate = Promise.promise();
            return gate.future().compose(v -> read);
        }

        @Override
        public Future<Void> put(Session session) {
            calls.add("write");
            return delegate.put(session);
        }
    }

    /** A session that is not ClusterSerializable: its ID cannot be set from outside. */
    static final class PlainSession extends AbstractSession {}

    /** A store whose sessions are {@link PlainSession}s. */
    static final class PlainSessionStore extends DelegatingStore {
        final AtomicBoolean closed = new AtomicBoolean();

        PlainSessionStore(SessionStore delegate) {
            super(delegate);
        }

        @Override
        public Session createSession(long timeout) {
            return new PlainSession();
        }

        @Override
        public void close() {
            closed.set(true);
            super.close();
        }
    }

    /**
     * Asserts that a save of the session {@code id} kept its ID: the persistent cookie is renewed only when the expiry
     * moved to another step (a minute for these sessions), which real time may cross between two requests.
     */
    private static void assertSameSessionOrNoCookie(String id, HttpResponse<Buffer> response) {
        String header = TestServer.setCookie(response, "session_id");
        if (header != null) {
            assertEquals(id, TestServer.cookieValue(header), "the same session");
        }
    }
}
