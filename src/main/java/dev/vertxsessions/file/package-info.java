/**
 * The file backend: one JSON file per session in one directory, written atomically, merged per key under a
 * cross-process lock, swept when expired. Start at {@link dev.vertxsessions.file.FileSessionInterface#factory}.
 */
package dev.vertxsessions.file;
