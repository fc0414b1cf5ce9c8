package dev.vertxsessions.security;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.redis.RedisServerExtension;
import java.nio.file.Path;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The hostile-cookie contract for the Redis backend, against a real redis-server (skipped, naming it, if absent). */
class RedisHostileCookieTest extends HostileCookieContract {

    @RegisterExtension
    static RedisServerExtension redis = new RedisServerExtension();

    @Override
    protected SessionConfig config(Path directory) {
        return new SessionConfig().setManager("redis").setBackendOption("redis_url", redis.url());
    }
}
