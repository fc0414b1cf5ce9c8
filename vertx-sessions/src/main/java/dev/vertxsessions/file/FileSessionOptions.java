package dev.vertxsessions.file;

import dev.vertxsessions.OptionsReader;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Options of the file backend, with the seed's JSON keys {@code directory}, {@code prefix} and
 * {@code sweep_interval}, an optional quota: {@code file_max_sessions} and {@code file_max_bytes}, and the size of
 * the largest session file, {@code file_max_session_bytes}.
 */
public class FileSessionOptions {

    /** The JSON keys of these options. */
    public static final Set<String> JSON_KEYS = Collections.unmodifiableSet(new LinkedHashSet<>(List.of(
            "directory", "prefix", "sweep_interval", "file_max_sessions", "file_max_bytes", "file_max_session_bytes")));

    /** The default of {@link #setMaxSessionBytes(int)}: 1 MiB. */
    public static final int DEFAULT_MAX_SESSION_BYTES = 1 << 20;

    private static final int MIN_SESSION_BYTES = 4096;

    private Path directory = Path.of("sessions");
    private String prefix = "session_";
    private Duration sweepInterval = Duration.ofMinutes(10);
    private long maxSessions = Long.MAX_VALUE;
    private long maxBytes = Long.MAX_VALUE;
    private int maxSessionBytes = DEFAULT_MAX_SESSION_BYTES;

    /** Creates options with the defaults. */
    public FileSessionOptions() {}

    /** Creates a copy of {@code other}. */
    public FileSessionOptions(FileSessionOptions other) {
        directory = other.directory;
        prefix = other.prefix;
        sweepInterval = other.sweepInterval;
        maxSessions = other.maxSessions;
        maxBytes = other.maxBytes;
        maxSessionBytes = other.maxSessionBytes;
    }

    /** Creates options from JSON; throws {@link IllegalArgumentException} naming the key for a bad value. */
    public FileSessionOptions(JsonObject json) {
        OptionsReader options = OptionsReader.of(null, json, JSON_KEYS);
        if (options.has("directory")) {
            String value = options.string("directory", null);
            if (value == null || value.isEmpty()) {
                throw options.invalid(
                        "directory", "the path of a folder for session files, got " + (value == null ? "null" : "''"));
            }
            setDirectory(Path.of(value));
        }
        if (options.has("prefix")) {
            setPrefix(options.string("prefix", null));
        }
        setSweepInterval(options.seconds("sweep_interval", sweepInterval));
        if (options.has("file_max_sessions") && json.getValue("file_max_sessions") != null) {
            setMaxSessions(options.integer("file_max_sessions", 0));
        }
        if (options.has("file_max_bytes") && json.getValue("file_max_bytes") != null) {
            setMaxBytes(options.integer("file_max_bytes", 0));
        }
        if (options.has("file_max_session_bytes")) {
            long value = options.integer("file_max_session_bytes", maxSessionBytes);
            if (value < MIN_SESSION_BYTES || value > SessionFileLayout.MAX_FILE_BYTES) {
                throw maxSessionBytesInvalid(value);
            }
            setMaxSessionBytes((int) value);
        }
    }

    /** Returns these options as JSON. */
    public JsonObject toJson() {
        return new JsonObject()
                .put("directory", directory.toString())
                .put("prefix", prefix)
                .put("sweep_interval", sweepInterval.toSeconds())
                .put("file_max_sessions", maxSessions == Long.MAX_VALUE ? null : maxSessions)
                .put("file_max_bytes", maxBytes == Long.MAX_VALUE ? null : maxBytes)
                .put("file_max_session_bytes", maxSessionBytes);
    }

    /** Returns the directory of the session files. */
    public Path getDirectory() {
        return directory;
    }

    /**
     * Sets the directory of the session files (JSON {@code directory}), created at start-up (mode 0700) if
     * missing. Defaults to {@code sessions}, relative to the working directory.
     */
    public FileSessionOptions setDirectory(Path directory) {
        this.directory = Objects.requireNonNull(directory, "directory");
        return this;
    }

    /** Returns the file name prefix. */
    public String getPrefix() {
        return prefix;
    }

    /**
     * Sets the file name prefix (JSON {@code prefix}): up to 64 letters, digits, '_', '-' and '.', not starting with
     * '.'. Defaults to {@code session_}.
     */
    public FileSessionOptions setPrefix(String prefix) {
        if (prefix == null || !prefix.matches("[A-Za-z0-9_.-]{0,64}") || prefix.startsWith(".")) {
            throw new IllegalArgumentException("prefix must be up to 64 letters, digits, '_', '-' or '.', not starting "
                    + "with '.', got " + (prefix == null ? "null" : "'" + prefix + "'"));
        }
        this.prefix = prefix;
        return this;
    }

    /** Returns how often expired session files are deleted. */
    public Duration getSweepInterval() {
        return sweepInterval;
    }

    /**
     * Sets how often expired session files are deleted (JSON {@code sweep_interval}, in seconds; 0 turns the
     * sweeper off). Defaults to 600 s.
     */
    public FileSessionOptions setSweepInterval(Duration sweepInterval) {
        if (sweepInterval == null || sweepInterval.isNegative()) {
            throw new IllegalArgumentException("sweep_interval must be 0 (off) or a positive number of seconds");
        }
        this.sweepInterval = sweepInterval;
        return this;
    }

    /** Returns the most session files the directory may hold, or {@link Long#MAX_VALUE} for no limit. */
    public long getMaxSessions() {
        return maxSessions;
    }

    /**
     * Sets the most session files the directory may hold (JSON {@code file_max_sessions}; null for no limit). A new
     * session beyond it evicts the least recently written anonymous sessions (never a promoted one: regenerated, or
     * holding a Vert.x-Web user); when none is left, the request gets a 503. A login moves a file, so it needs no
     * room. The count is kept in the directory, so it holds for every process and server sharing the directory: give
     * them all the same limits (see README). Defaults to no limit.
     */
    public FileSessionOptions setMaxSessions(long maxSessions) {
        if (maxSessions < 1) {
            throw new IllegalArgumentException(
                    "file_max_sessions must be at least 1, or null for no limit, got " + maxSessions);
        }
        this.maxSessions = maxSessions;
        return this;
    }

    /** Returns the most bytes the session files may take together, or {@link Long#MAX_VALUE} for no limit. */
    public long getMaxBytes() {
        return maxBytes;
    }

    /**
     * Sets the most bytes the session files may take together, by their lengths (JSON {@code file_max_bytes}; null
     * for no limit). Evicts like {@link #setMaxSessions(long)}. A file is at least 1024 bytes long, and the disk
     * rounds it up to its block size (often 4096). Defaults to no limit.
     */
    public FileSessionOptions setMaxBytes(long maxBytes) {
        if (maxBytes < 1024) {
            throw new IllegalArgumentException(
                    "file_max_bytes must be at least 1024 (one session file), or null for no limit, got " + maxBytes);
        }
        this.maxBytes = maxBytes;
        return this;
    }

    /** Returns the size of the largest session file, in bytes. */
    public int getMaxSessionBytes() {
        return maxSessionBytes;
    }

    /**
     * Sets the size of the largest session file, in bytes (JSON {@code file_max_session_bytes}), from 4096 to
     * 134217728. A larger file in the directory reads as absent (a fresh session) without being read; a save that
     * would need a larger file fails with {@link dev.vertxsessions.SessionTooLargeException} (a 500 when it fails
     * before the response). A session file holds two copies of the session, so a session's JSON may take up to about
     * half of it. Defaults to 1048576 (1 MiB).
     */
    public FileSessionOptions setMaxSessionBytes(int maxSessionBytes) {
        if (maxSessionBytes < MIN_SESSION_BYTES || maxSessionBytes > SessionFileLayout.MAX_FILE_BYTES) {
            throw maxSessionBytesInvalid(maxSessionBytes);
        }
        this.maxSessionBytes = maxSessionBytes;
        return this;
    }

    private static IllegalArgumentException maxSessionBytesInvalid(long value) {
        return new IllegalArgumentException("file_max_session_bytes must be from " + MIN_SESSION_BYTES + " to "
                + SessionFileLayout.MAX_FILE_BYTES + " (bytes of the largest session file), got " + value);
    }
}
