package dev.vertxsessions.contract;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.memory.MemorySessionBackend;
import java.time.Clock;

/** The backend contract for the in-memory backend (one process: not shared). */
class MemoryContractTest extends BackendContractTest {

    @Override
    protected SessionConfig config(Clock clock) {
        return new SessionConfig().setBackend(MemorySessionBackend.factory(10_000));
    }
}
