package dev.vertxsessions.samples.postgres;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.testkit.BackendContract;
import dev.vertxsessions.testkit.BackendSpiContract;
import dev.vertxsessions.testkit.NearCacheContract;
import java.time.Clock;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The backend contract every built-in backend passes (the test kit, a test dependency as for any backend outside
 * this repository), over HTTP and at the SPI level, run on the PostgreSQL sample against a real server, and over HTTP
 * again with the near cache on; a second application server uses the same table. Skipped, naming the Debian package, where PostgreSQL is not installed.
 */
@ExtendWith(PostgresServer.Extension.class)
class PostgresContractTest extends BackendContract {

    private final PostgresServer postgres;
    private String table;

    PostgresContractTest(PostgresServer postgres) {
        this.postgres = postgres; // null only when every test is skipped
    }

    @BeforeEach
    void newTable() {
        table = PostgresServer.uniqueTable("contract");
    }

    @Override
    protected SessionConfig config(Clock clock) {
        return new SessionConfig()
                .setBackend(PostgresSessionBackend.factory(
                        PostgresSessionOptions.of(postgres.url()).withTable(table)));
    }

    @Override
    protected SessionConfig sharedStoreConfig(Clock clock) {
        return config(clock); // the same table
    }

    /**
     * The whole HTTP contract again with the near cache on: cookies carry {@code <id>.<version>}, reads are answered
     * from the cache when LISTEN/NOTIFY has proved it current, and every write still goes to the table.
     */
    @Nested
    class NearCache extends BackendContract {
        @Override
        protected SessionConfig config(Clock clock) {
            return PostgresContractTest.this.config(clock).setNearCache(true);
        }

        @Override
        protected SessionConfig sharedStoreConfig(Clock clock) {
            return config(clock);
        }
    }

    /** The near cache across two servers on one store: what another server's writes do to a cached copy. */
    @Nested
    class NearCacheAcrossServers extends NearCacheContract {
        @Override
        protected SessionConfig config() {
            return PostgresContractTest.this.config(Clock.systemUTC());
        }
    }

    /** The SPI-level contract on the same backend: the three lines any backend author writes. */
    @Nested
    class Spi extends BackendSpiContract {
        @Override
        protected SessionConfig config(Clock clock) {
            return PostgresContractTest.this.config(clock);
        }
    }
}
