package dev.vertxsessions.contract;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.redis.RedisServerProcess;
import dev.vertxsessions.redis.RedisSessionInterface;
import dev.vertxsessions.redis.RedisSessionOptions;
import java.io.IOException;
import java.time.Clock;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * The backend contract for Redis, against one private redis-server for the class (emptied before each test); a
 * second server uses the same Redis. Skipped, naming {@code redis-server}, when it is not installed.
 */
class RedisContractTest extends BackendContractTest {

    private static RedisServerProcess redis;

    /** Starts Redis for the first test, or skips each test, naming redis-server, when it is not installed. */
    @BeforeEach
    void startOrEmptyRedis() throws IOException {
        if (redis == null) {
            redis = RedisServerProcess.start();
        }
        redis.command("FLUSHALL");
    }

    @AfterAll
    static void stopRedis() throws IOException {
        if (redis != null) {
            redis.close();
            redis = null;
        }
    }

    @Override
    protected SessionConfig config(Clock clock) {
        return new SessionConfig()
                .setBackend(RedisSessionInterface.factory(new RedisSessionOptions().setUrl(redis.url())));
    }

    @Override
    protected SessionConfig sharedStoreConfig(Clock clock) {
        return config(clock); // the same Redis
    }
}
