package dev.vertxsessions.contract;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.file.FileSessionInterface;
import dev.vertxsessions.testkit.BackendContract;
import dev.vertxsessions.testkit.BackendSpiContract;
import dev.vertxsessions.testkit.NearCacheContract;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.io.TempDir;

/** The backend contract for the file backend; a second server shares the directory. */
class FileContractTest extends BackendContract {

    @TempDir
    Path directory;

    @Override
    protected SessionConfig config(Clock clock) {
        return new SessionConfig().setBackend(FileSessionInterface.factory(directory, "session_"));
    }

    @Override
    protected SessionConfig sharedStoreConfig(Clock clock) {
        return config(clock); // the same directory
    }

    /**
     * The whole HTTP contract again with the near cache on: cookies carry {@code <id>.<version>}, reads are answered
     * from the cache while the directory watch proves it current, and every write still goes through the file's lock.
     */
    @Nested
    class NearCache extends BackendContract {
        @Override
        protected SessionConfig config(Clock clock) {
            return FileContractTest.this.config(clock).setNearCache(true);
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
            return FileContractTest.this.config(Clock.systemUTC());
        }
    }

    /** The SPI-level contract on the same backend, configured the same way. */
    @Nested
    class Spi extends BackendSpiContract {
        @Override
        protected SessionConfig config(Clock clock) {
            return FileContractTest.this.config(clock);
        }
    }
}
