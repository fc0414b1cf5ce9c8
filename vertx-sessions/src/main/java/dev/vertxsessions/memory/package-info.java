/**
 * The in-memory backend: {@code "manager": "memory"}, or {@link dev.vertxsessions.memory.MemorySessionBackend#factory(int)}.
 */
package dev.vertxsessions.memory;
