package dev.vertxsessions.security;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.redis.RedisServerProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.io.IOException;
import java.nio.file.Path;

/** The hostile-cookie contract for the Redis backend, against a real redis-server (skipped, naming it, if absent). */
class RedisHostileCookieTest extends HostileCookieContract {

  private static RedisServerProcess redis;

  @BeforeAll
  static void startRedis() throws IOException {
    redis = RedisServerProcess.start();
  }

  @AfterAll
  static void stopRedis() throws IOException {
    if (redis != null) {
      redis.close();
    }
  }

  @Override
  protected SessionConfig config(Path directory) {
    return new SessionConfig().setManager("redis").setBackendOption("redis_url", redis.url());
  }
}
