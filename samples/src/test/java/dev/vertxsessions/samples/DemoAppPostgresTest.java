package dev.vertxsessions.samples;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.samples.postgres.PostgresServer;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The demo on the sample PostgreSQL backend, configured as {@code SESSION_BACKEND=postgres DATABASE_URL=...} would,
 * against a real PostgreSQL server (skipped, naming the Debian package, where it is not installed). Each test
 * keeps its sessions in a table of its own, created by the backend's start.
 */
@ExtendWith(PostgresServer.Extension.class)
class DemoAppPostgresTest extends UserIndexDemoAppContractTest {

    private final PostgresServer postgres;
    private String table;

    DemoAppPostgresTest(PostgresServer postgres) {
        this.postgres = postgres;
    }

    @Override
    SessionConfig sessionConfig(Path tempDir) {
        table = PostgresServer.uniqueTable("demo");
        SessionConfig config = DemoSettings.fromEnv(
                        Map.of("SESSION_BACKEND", "postgres", "DATABASE_URL", postgres.url()))
                .sessionConfig();
        JsonObject options =
                config.getBackendOptions().getJsonObject("postgres").put("table", table);
        return config.setBackendOption("postgres", options);
    }

    @Override
    OptionalInt storedSessions() {
        try {
            return OptionalInt.of(Integer.parseInt(postgres.psql("SELECT count(*) FROM " + table)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
