package dev.vertxsessions.redis;

import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP relay in front of a real redis-server that, once armed, closes the connection carrying the next command
 * with a given name instead of forwarding it: the fault a pooled connection closed under a request causes.
 */
final class ClosingProxy {

    private final NetServer server;
    private final NetClient client;
    private final AtomicBoolean armed = new AtomicBoolean();
    private final AtomicInteger closed = new AtomicInteger();
    private volatile String command = "";

    private ClosingProxy(NetServer server, NetClient client) {
        this.server = server;
        this.client = client;
    }

    /** Starts a relay to the server at {@code redisUrl} ({@code redis://host:port}) on a free loopback port. */
    static ClosingProxy start(Vertx vertx, String redisUrl) {
        URI target = URI.create(redisUrl);
        NetClient client = vertx.createNetClient();
        NetServer server = vertx.createNetServer();
        ClosingProxy proxy = new ClosingProxy(server, client);
        server.connectHandler(front -> {
            front.pause();
            client.connect(target.getPort(), target.getHost()).onComplete(connected -> {
                if (connected.failed()) {
                    front.close();
                    return;
                }
                proxy.relay(front, connected.result());
                front.resume();
            });
        });
        server.listen(0, "127.0.0.1").await();
        return proxy;
    }

    private void relay(NetSocket front, NetSocket back) {
        front.handler(bytes -> {
            if (!command.isEmpty()
                    && bytes.toString(StandardCharsets.UTF_8)
                            .toUpperCase(java.util.Locale.ROOT)
                            .contains(command)
                    && armed.compareAndSet(true, false)) {
                closed.incrementAndGet();
                front.close();
                back.close();
                return;
            }
            back.write(bytes);
        });
        back.handler(front::write);
        front.closeHandler(v -> back.close());
        back.closeHandler(v -> front.close());
    }

    /** Closes the connection that carries the next {@code commandName} (e.g. {@code HGETALL}), once. */
    void closeOnNext(String commandName) {
        command = commandName;
        armed.set(true);
    }

    /** Returns how many connections the relay closed on purpose. */
    int closedConnections() {
        return closed.get();
    }

    /** Returns the relay's URL for redis_url. */
    String url() {
        return "redis://127.0.0.1:" + server.actualPort();
    }

    void close() {
        server.close().await();
        client.close().await();
    }
}
