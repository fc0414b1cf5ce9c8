package dev.vertxsessions.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.redis.RedisServerExtension;
import io.vertx.junit5.VertxTestContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The demo on the Redis backend, configured as {@code SESSION_BACKEND=redis REDIS_URL=...} would, against a real
 * redis-server (skipped, naming the program, where it is not installed).
 */
class DemoAppRedisTest extends UserIndexDemoAppContractTest {

    @RegisterExtension
    static RedisServerExtension redis = new RedisServerExtension();

    private static final AtomicInteger TESTS = new AtomicInteger();
    private String prefix;

    @Override
    SessionConfig sessionConfig(Path tempDir) {
        prefix = "demo" + TESTS.incrementAndGet() + ":"; // each test counts only its own sessions
        return DemoSettings.fromEnv(Map.of("SESSION_BACKEND", "redis", "REDIS_URL", redis.url()))
                .sessionConfig()
                .setBackendOption("redis_key_prefix", prefix);
    }

    @Test
    void oneAccountLoggingIn300Times_keepsTenSessions_andNeverBlocksAnotherUsersLogin(VertxTestContext test) {
        test.verify(() -> {
            logInRepeatedly("alice", "wonderland", 300);
            assertEquals(10L, redis.command("ZCARD", prefix + "user:alice"));
            assertEquals(OptionalInt.of(10), storedSessions());
            Browser bob = browser();
            assertEquals("/dashboard", logIn(bob, "bob", "builder").getHeader("location"));
            assertTrue(bob.get("/dashboard").bodyAsString().contains("Welcome, bob!"));
            assertEquals(OptionalInt.of(11), storedSessions());
        });
        test.completeNow();
    }

    @Override
    OptionalInt storedSessions() {
        try {
            int all = ((List<?>) redis.command("KEYS", prefix + "*")).size();
            return OptionalInt.of(all - ((List<?>) redis.command("KEYS", prefix + "user:*")).size());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
