package dev.vertxsessions.dropin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.TestServer;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.ext.auth.User;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BasicAuthHandler;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.CSRFHandler;
import io.vertx.ext.web.handler.SessionHandler;
import io.vertx.ext.web.sstore.LocalSessionStore;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.List;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The router accepts and rejects exactly the handler orders it accepts and rejects for Vert.x-Web's own
 * SessionHandler: the middleware is a platform handler.
 */
@ExtendWith(VertxExtension.class)
class RouterOrderTest {

    /** One way of adding handlers to a route, with the session handler in some position. */
    private record Order(String name, BiConsumer<Router, Handler<RoutingContext>> install) {}

    @Test
    void handlerOrders_areAcceptedAndRejectedExactlyAsForVertxWebsSessionHandler(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            BasicAuthHandler basic = BasicAuthHandler.create(credentials -> Future.succeededFuture(User.fromName("a")));
            List<Order> orders = List.of(
                    new Order(
                            "session, basic auth",
                            (r, s) -> r.route().handler(s).handler(basic)),
                    new Order("session, body", (r, s) -> r.route().handler(s).handler(BodyHandler.create())),
                    new Order(
                            "session, body, basic auth, user",
                            (r, s) -> r.route()
                                    .handler(s)
                                    .handler(BodyHandler.create())
                                    .handler(basic)
                                    .handler(RoutingContext::next)),
                    new Order(
                            "session, csrf",
                            (r, s) -> r.route().handler(s).handler(CSRFHandler.create(vertx, TestServer.SECRET))),
                    new Order(
                            "body, session",
                            (r, s) -> r.route().handler(BodyHandler.create()).handler(s)),
                    new Order(
                            "basic auth, session",
                            (r, s) -> r.route().handler(basic).handler(s)),
                    new Order(
                            "user, session",
                            (r, s) -> r.route().handler(RoutingContext::next).handler(s)),
                    new Order("session on its own route", (r, s) -> r.route().handler(s)));
            SessionMiddleware ours =
                    SessionMiddleware.create(vertx, new SessionConfig().setSecretKey(TestServer.SECRET));
            SessionHandler theirs = SessionHandler.create(LocalSessionStore.create(vertx));
            int rejected = 0;
            for (Order order : orders) {
                String expected = outcome(vertx, order, theirs);
                assertEquals(expected, outcome(vertx, order, ours), order.name());
                if (!expected.equals("accepted")) {
                    rejected++;
                }
            }
            assertEquals(3, rejected, "orders Vert.x-Web rejects for its own SessionHandler");
            ours.close().await();
        });
        test.completeNow();
    }

    private static String outcome(Vertx vertx, Order order, Handler<RoutingContext> sessions) {
        try {
            order.install().accept(Router.router(vertx), sessions);
            return "accepted";
        } catch (IllegalStateException e) {
            assertTrue(e.getMessage().startsWith("Cannot add ["), e.getMessage());
            return "rejected: " + e.getMessage();
        }
    }
}
