package dev.vertxsessions.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The durability setting's checks (no server needed); RedisFailoverTest shows what it does. */
class WaitForReplicasTest {

    @Test
    void off_isTheDefaultAndNeedsNoTimeout() {
        assertFalse(WaitForReplicas.OFF.isOn());
        assertEquals(WaitForReplicas.OFF, WaitForReplicas.OFF.checkAgainst(Duration.ofMillis(1)));
        assertTrue(new WaitForReplicas(2, Duration.ofMillis(500)).isOn());
    }

    @Test
    void badValues_failAtStartUpNamingTheKeys() {
        IllegalArgumentException negative =
                assertThrows(IllegalArgumentException.class, () -> new WaitForReplicas(-1, Duration.ofMillis(100)));
        assertEquals("redis_wait_replicas must be 0 (off) or more, got -1", negative.getMessage());

        IllegalArgumentException forever =
                assertThrows(IllegalArgumentException.class, () -> new WaitForReplicas(1, Duration.ZERO));
        assertEquals(
                "redis_wait_timeout_ms must be at least 1 when redis_wait_replicas is set, got 0",
                forever.getMessage());

        IllegalArgumentException tooLong = assertThrows(
                IllegalArgumentException.class,
                () -> new WaitForReplicas(1, Duration.ofSeconds(2)).checkAgainst(Duration.ofSeconds(2)));
        assertTrue(
                tooLong.getMessage()
                        .startsWith("redis_wait_timeout_ms (2000) must be less than redis_timeout_ms " + "(2000)"),
                tooLong.getMessage());
    }
}
