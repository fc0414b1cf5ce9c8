/**
 * The file backend: one file per session in one directory, its JSON written atomically in place (two checksummed
 * slots), merged per key under a cross-process lock, swept when expired. Start at
 * {@link dev.vertxsessions.file.FileSessionInterface#factory}. How it works: {@code docs/file-backend.md}.
 */
package dev.vertxsessions.file;
