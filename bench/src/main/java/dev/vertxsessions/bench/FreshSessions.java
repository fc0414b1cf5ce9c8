package dev.vertxsessions.bench;

import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Creates many distinct sessions on a running {@link BenchServer}: sends {@code count} requests
 * {@code GET /counter} without a cookie, {@code concurrency} at a time, so every request starts (and stores) a
 * new session. Used by memory.sh to measure the heap per session.
 *
 * <pre>
 *   java -cp bench/target/benchmarks.jar dev.vertxsessions.bench.FreshSessions 8080 100000 8
 * </pre>
 *
 * <p>Prints {@code FRESH ok=<2xx answers with a Set-Cookie> failed=<others> seconds=<elapsed>}; exits 1 when any
 * request failed or came back without a session cookie.
 */
public final class FreshSessions {

    private FreshSessions() {}

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        int count = Integer.parseInt(args[1]);
        int concurrency = args.length > 2 ? Integer.parseInt(args[2]) : 8;
        Vertx vertx = Vertx.vertx();
        HttpClient client = vertx.createHttpClient(
                new HttpClientOptions()
                        .setDefaultHost("127.0.0.1")
                        .setDefaultPort(port)
                        .setKeepAlive(true),
                new PoolOptions().setHttp1MaxSize(concurrency));
        AtomicInteger next = new AtomicInteger();
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        long start = System.nanoTime();
        Promise<Void> all = Promise.promise();
        AtomicInteger running = new AtomicInteger(concurrency);
        for (int i = 0; i < concurrency; i++) {
            Promise<Void> done = Promise.promise();
            done.future().onComplete(ar -> {
                if (running.decrementAndGet() == 0) {
                    all.complete();
                }
            });
            vertx.runOnContext(v -> step(client, count, next, ok, failed, done));
        }
        all.future().toCompletionStage().toCompletableFuture().get(30, TimeUnit.MINUTES);
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("FRESH ok=%d failed=%d seconds=%.1f%n", ok.get(), failed.get(), seconds);
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        System.exit(failed.get() == 0 ? 0 : 1);
    }

    /** Sends one request, then the next, until {@code count} have been claimed by all loops together. */
    private static void step(
            HttpClient client,
            int count,
            AtomicInteger next,
            AtomicInteger ok,
            AtomicInteger failed,
            Promise<Void> done) {
        if (next.getAndIncrement() >= count) {
            done.complete();
            return;
        }
        client.request(HttpMethod.GET, "/counter")
                .compose(request -> request.send())
                .compose(response -> response.body()
                        .map(body -> response.statusCode() / 100 == 2
                                && !response.cookies().isEmpty()))
                .onComplete(ar -> {
                    if (ar.succeeded() && ar.result()) {
                        ok.incrementAndGet();
                    } else {
                        failed.incrementAndGet();
                    }
                    step(client, count, next, ok, failed, done);
                });
    }
}
