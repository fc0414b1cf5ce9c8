package dev.vertxsessions;

import io.vertx.ext.web.Router;

/** Routes the backend tests share: the seed's counter and small probes of the session's state. */
public final class SessionRoutes {

    private SessionRoutes() {}

    public static void install(Router router) {
        TestServer.counter(router);
        router.get("/peek").handler(TestServer.text(s -> s.get("counter", 0)));
        router.get("/id").handler(TestServer.text(BaseSessionInterface::id));
        router.post("/logout").handler(ctx -> {
            SessionMiddleware.session(ctx).clear();
            ctx.response()
                    .setStatusCode(302)
                    .putHeader("location", "/login?message=logged_out")
                    .end();
        });
        router.post("/invalidate").handler(ctx -> {
            SessionMiddleware.session(ctx).invalidate();
            ctx.end("invalidated");
        });
        router.post("/login").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            String before = session.id();
            session.regenerate();
            session.put("user_id", "alice");
            ctx.end(before + " " + session.id());
        });
        router.get("/short").handler(TestServer.text(s -> {
            s.setExpiry(1800);
            s.put("short", true);
            return s.getExpiryAge();
        }));
        router.get("/big").handler(TestServer.text(s -> {
            StringBuilder value = new StringBuilder();
            java.util.Random random = new java.util.Random(1);
            for (int i = 0; i < 6000; i++) {
                value.append((char) ('!' + random.nextInt(90)));
            }
            s.put("big", value.toString());
            return "stored";
        }));
    }
}
