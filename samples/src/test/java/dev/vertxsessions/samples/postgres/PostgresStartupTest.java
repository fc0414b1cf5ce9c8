package dev.vertxsessions.samples.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.SessionStoreUnavailableException;
import dev.vertxsessions.samples.DemoApp;
import dev.vertxsessions.samples.DemoSettings;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What the PostgreSQL backend does at start-up with a bad configuration or no database: fail, naming the key or
 * the database and the cause, never the password. Needs no PostgreSQL server, so it runs everywhere.
 */
@ExtendWith(VertxExtension.class)
class PostgresStartupTest {

    private static final String PASSWORD = "hunter2";

    private static SessionConfig config(JsonObject postgres) {
        return new SessionConfig(new JsonObject().put("manager", "postgres").put("postgres", postgres));
    }

    /** Starts the middleware and returns why it failed. */
    private static Throwable startFailure(Vertx vertx, SessionConfig config) {
        Future<SessionMiddleware> started = SessionMiddleware.start(vertx, config);
        return assertThrows(Throwable.class, started::await, "the middleware started");
    }

    private static String configFailure(Vertx vertx, JsonObject postgres) {
        Throwable failure = startFailure(vertx, config(postgres));
        assertInstanceOf(IllegalArgumentException.class, failure);
        assertFalse(failure.getMessage().contains(PASSWORD), failure.getMessage());
        return failure.getMessage();
    }

    private static int closedPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    @Test
    void misspelledKey_failsAtStartUpNamingItAndTheNearestKey(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            assertEquals(
                    "unknown session config key 'postgres.urll' (did you mean 'url'?); known keys are postgres.url, "
                            + "postgres.table, postgres.pool_size, postgres.sweep_interval, postgres.max_sessions",
                    configFailure(
                            vertx, new JsonObject().put("urll", "postgresql://app:" + PASSWORD + "@127.0.0.1/app")));
        });
        test.completeNow();
    }

    @Test
    void invalidValues_failAtStartUpNamingTheKey(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            String url = "postgresql://app:" + PASSWORD + "@127.0.0.1:5432/app";
            assertTrue(
                    configFailure(vertx, new JsonObject()).startsWith("postgres.url is required, e.g. postgresql://"));
            assertEquals(
                    "postgres.url must start with postgresql:// or postgres://, got a value of 33 characters",
                    configFailure(vertx, new JsonObject().put("url", "mysql://app:" + PASSWORD + "@127.0.0.1/app")));
            assertEquals(
                    "postgres.table must be a table name of lowercase letters, digits and underscores (at most 40), "
                            + "optionally schema-qualified like app.sessions, got 'sessions; DROP TABLE users'",
                    configFailure(vertx, new JsonObject().put("url", url).put("table", "sessions; DROP TABLE users")));
            assertEquals(
                    "postgres.pool_size must be from 1 to 1000, got 0",
                    configFailure(vertx, new JsonObject().put("url", url).put("pool_size", 0)));
            assertEquals(
                    "postgres.pool_size must be a whole number, got a string",
                    configFailure(vertx, new JsonObject().put("url", url).put("pool_size", "4")));
            assertEquals(
                    "postgres.sweep_interval must be at least 1 second, got 0",
                    configFailure(vertx, new JsonObject().put("url", url).put("sweep_interval", 0)));
            assertEquals(
                    "postgres.max_sessions must be at least 1, or null for no limit, got 0",
                    configFailure(vertx, new JsonObject().put("url", url).put("max_sessions", 0)));
            assertEquals(
                    "postgres.max_sessions must be a whole number, got a string",
                    configFailure(vertx, new JsonObject().put("url", url).put("max_sessions", "1000")));
            Throwable notAnObject = startFailure(
                    vertx,
                    new SessionConfig(
                            new JsonObject().put("manager", "postgres").put("postgres", url)));
            assertEquals("postgres must be a JSON object, got a string", notAnObject.getMessage());
        });
        test.completeNow();
    }

    @Test
    void closedPort_failsTheStartWithTheCause(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            int port = closedPort();
            Throwable failure = startFailure(
                    vertx,
                    config(new JsonObject()
                            .put("url", "postgresql://app:" + PASSWORD + "@127.0.0.1:" + port + "/app")));
            assertInstanceOf(SessionStoreUnavailableException.class, failure);
            String message = failure.getMessage();
            assertTrue(
                    message.startsWith("PostgreSQL at 127.0.0.1:" + port + "/app could not be used for sessions "
                            + "(table sessions): "),
                    message);
            assertFalse(message.contains(PASSWORD), message);
            Throwable root = failure;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            assertInstanceOf(ConnectException.class, root, () -> "root cause: " + failure.getCause());
        });
        test.completeNow();
    }

    @Test
    void demoApp_withItsDatabaseDown_failsToStartInsteadOfServing503s(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            SessionConfig config = DemoSettings.fromEnv(Map.of(
                            "SESSION_BACKEND",
                            "postgres",
                            "DATABASE_URL",
                            "postgresql://postgres@127.0.0.1:" + closedPort() + "/postgres"))
                    .sessionConfig();
            Throwable failure = assertThrows(
                    Throwable.class, () -> DemoApp.start(vertx, config, 0, 1).await());
            assertInstanceOf(SessionStoreUnavailableException.class, failure);
            assertTrue(failure.getMessage().contains("could not be used for sessions"), failure.getMessage());
        });
        test.completeNow();
    }
}
