package dev.vertxsessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.vertxsessions.memory.MemorySessionBackend;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The middleware closes its backend with Vert.x, as Vert.x closes its own clients. */
@ExtendWith(VertxExtension.class)
class MiddlewareCloseTest {

    /** A memory backend that counts how often it is closed. */
    static final class CountingBackend implements SessionBackend {
        final SessionBackend memory;
        final AtomicInteger closes;

        CountingBackend(SessionBackend memory, AtomicInteger closes) {
            this.memory = memory;
            this.closes = closes;
        }

        @Override
        public Future<SessionRecord> load(String cookieValue) {
            return memory.load(cookieValue);
        }

        @Override
        public Future<Boolean> save(SessionChanges changes) {
            return memory.save(changes);
        }

        @Override
        public Future<Void> delete(String id) {
            return memory.delete(id);
        }

        @Override
        public Future<Void> close() {
            closes.incrementAndGet();
            return memory.close();
        }
    }

    static SessionConfig counting(AtomicInteger closes) {
        return new SessionConfig()
                .setBackend((vertx, config) ->
                        new CountingBackend(MemorySessionBackend.factory(100).create(vertx, config), closes));
    }

    @Test
    void middlewareCreatedOutsideAVerticle_closesWithTheVertxInstance(VertxTestContext test) {
        test.verify(() -> {
            AtomicInteger closes = new AtomicInteger();
            Vertx other = Vertx.vertx();
            SessionMiddleware middleware =
                    SessionMiddleware.start(other, counting(closes)).await();
            other.close().await();
            assertEquals(1, closes.get());
            Future<Void> again = middleware.close();
            assertSame(again, middleware.close(), "closing again returns the same Future");
            assertEquals(1, closes.get(), "closed once");
        });
        test.completeNow();
    }

    @Test
    void middlewareCreatedInAVerticle_closesWhenTheVerticleIsUndeployed(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            AtomicInteger closes = new AtomicInteger();
            int[] port = new int[1];
            String deployment = vertx.deployVerticle(new VerticleBase() {
                        @Override
                        public Future<?> start() {
                            Router router = Router.router(vertx);
                            router.route().handler(SessionMiddleware.create(vertx, counting(closes)));
                            router.get("/")
                                    .handler(ctx -> SessionMiddleware.session(ctx)
                                            .increment("visits")
                                            .onSuccess(visits -> ctx.end("visits " + visits)));
                            return vertx.createHttpServer()
                                    .requestHandler(router)
                                    .listen(0, "127.0.0.1")
                                    .onSuccess(server -> port[0] = server.actualPort())
                                    .map(HttpServer::actualPort);
                        }
                    })
                    .await();
            WebClient client = WebClient.create(vertx);
            assertEquals(
                    "visits 1",
                    client.get(port[0], "127.0.0.1", "/").send().await().bodyAsString());
            assertEquals(0, closes.get());
            vertx.undeploy(deployment).await();
            assertEquals(1, closes.get());
            client.close();
        });
        test.completeNow();
    }
}
