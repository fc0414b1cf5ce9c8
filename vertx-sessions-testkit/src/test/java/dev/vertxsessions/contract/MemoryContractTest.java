package dev.vertxsessions.contract;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.memory.MemorySessionBackend;
import dev.vertxsessions.testkit.BackendContract;
import dev.vertxsessions.testkit.BackendSpiContract;
import dev.vertxsessions.testkit.TestServer;
import io.vertx.junit5.VertxTestContext;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The backend contract for the in-memory backend (one process: not shared), and its bound. */
class MemoryContractTest extends BackendContract {

    private int maxSessions = 10_000;

    @Override
    protected SessionConfig config(Clock clock) {
        return new SessionConfig().setBackend(MemorySessionBackend.factory(maxSessions));
    }

    @Test
    void userIndex_holdsNoSessionThatExpiredOrWasEvicted(VertxTestContext test) {
        test.verify(() -> {
            maxSessions = 3;
            TestServer server = start();
            String early = TestServer.sessionCookie(server.post("/login-as/alice", null));
            clock.advance(java.time.Duration.ofHours(12));
            String late = TestServer.sessionCookie(server.post("/login-as/alice", null));
            assertEquals(2, server.middleware.sessions().countOf("alice").await());
            clock.advance(java.time.Duration.ofHours(13)); // the first one expired
            assertEquals(
                    List.of(late),
                    server.middleware.sessions().sessionsOf("alice").await().stream()
                            .map(dev.vertxsessions.SessionInfo::id)
                            .toList());
            for (int i = 0; i < 3; i++) {
                TestServer.sessionCookie(server.post("/login-as/bob", null)); // the bound evicts alice's last session
            }
            assertEquals(0, server.middleware.sessions().countOf("alice").await());
            assertFresh(server, early);
        });
        test.completeNow();
    }

    @Test
    void pastTheBound_anonymousSessionsAreEvictedFirst_thenTheLeastRecentlyUsed(VertxTestContext test) {
        test.verify(() -> {
            maxSessions = 3;
            TestServer server = start();
            String member = TestServer.sessionCookie(server.post("/login", null));
            List<String> anonymous = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                anonymous.add(TestServer.sessionCookie(server.get("/")));
                assertEquals("1", server.get("/peek", anonymous.get(i)).bodyAsString()); // stored
            }
            assertEquals("alice", server.get("/get/user", member).bodyAsString(), "the member was evicted");
            assertEquals("1", server.get("/peek", anonymous.get(4)).bodyAsString());
            assertEquals("1", server.get("/peek", anonymous.get(3)).bodyAsString());
            assertFresh(server, anonymous.get(2));
            assertEquals(3, server.middleware.metrics().evictions());

            // Only promoted sessions left past the bound: the least recently used one goes.
            String second = TestServer.sessionCookie(server.post("/login", anonymous.get(4)));
            String third = TestServer.sessionCookie(server.post("/login", anonymous.get(3)));
            assertEquals("alice", server.get("/get/user", third).bodyAsString());
            assertEquals("alice", server.get("/get/user", second).bodyAsString());
            String fourth = TestServer.sessionCookie(server.post("/login", null));
            assertEquals("alice", server.get("/get/user", fourth).bodyAsString());
            assertFresh(server, member);
        });
        test.completeNow();
    }

    /** The SPI-level contract on the same backend, configured the same way. */
    @Nested
    class Spi extends BackendSpiContract {
        @Override
        protected SessionConfig config(Clock clock) {
            return MemoryContractTest.this.config(clock);
        }
    }
}
