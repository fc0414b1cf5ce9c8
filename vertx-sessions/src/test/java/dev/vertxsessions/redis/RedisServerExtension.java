package dev.vertxsessions.redis;

import java.io.IOException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A private {@code redis-server} for a test class, as a JUnit 5 extension registered on a static field:
 *
 * <pre>{@code
 * @RegisterExtension
 * static RedisServerExtension redis = new RedisServerExtension();
 * }</pre>
 *
 * <p>Before the class's first test it starts a {@link RedisServerProcess} on a free loopback port, without
 * persistence, and after the last test it stops it. Where {@code redis-server} is not installed, every test of the
 * class is skipped (JUnit Assumptions) with a message naming {@code redis-server}; the skip is per test, so the
 * tests are still counted, as skipped, with the reason beside each.
 *
 * <p>Before each test it hands the test a server as a newly started one would be: running (started again on the
 * same port if an earlier test killed it), answering (resumed if one paused it), with no keys and no cached
 * scripts. Tests of the Redis backend may kill, restart, pause and resume it ({@link #kill()} and so on).
 */
public final class RedisServerExtension implements BeforeAllCallback, BeforeEachCallback, AfterAllCallback {

    private RedisServerProcess server;
    /** How many class containers (the test class and its {@code @Nested} classes) are running: one server for all. */
    private int containers;

    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        if (containers++ == 0 && RedisServerProcess.onPath()) {
            server = RedisServerProcess.start();
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) throws IOException, InterruptedException {
        Assumptions.assumeTrue(server != null, RedisServerProcess.MISSING);
        server.reset();
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        if (--containers == 0 && server != null) {
            try {
                server.close();
            } finally {
                server = null;
            }
        }
    }

    /** Returns whether the server runs, i.e. whether the current test was not skipped for want of redis-server. */
    public boolean isRunning() {
        return server != null;
    }

    /** Returns the running server. */
    public RedisServerProcess server() {
        if (server == null) {
            throw new IllegalStateException("no redis-server: it is not installed, or RedisServerExtension was not "
                    + "registered with @RegisterExtension on a static field (so that it starts before all tests)");
        }
        return server;
    }

    /** Returns the connection string of the server, {@code redis://127.0.0.1:<port>}. */
    public String url() {
        return server().url();
    }

    /** Sends one command over the test's own connection; see {@link RedisServerProcess#command(String...)}. */
    public Object command(String... args) throws IOException {
        return server().command(args);
    }

    /** Kills the server (SIGKILL), as a crash would. */
    void kill() throws InterruptedException {
        server().kill();
    }

    /** Starts a killed server again on the same port, empty. */
    void restart() throws IOException {
        server().restart();
    }

    /** Stops the server from answering (SIGSTOP) while its connections stay open. */
    void pause() throws IOException, InterruptedException {
        server().pause();
    }

    /** Lets a paused server answer again (SIGCONT). */
    void resume() throws IOException, InterruptedException {
        server().resume();
    }

    /** Opens a MONITOR connection that reports the commands clients send from now on. */
    RedisServerProcess.Monitor monitor() throws IOException {
        return server().monitor();
    }
}
