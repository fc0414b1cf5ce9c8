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
 * {@code sweep_interval}.
 */
public class FileSessionOptions {

    /** The JSON keys of these options. */
    public static final Set<String> JSON_KEYS =
            Collections.unmodifiableSet(new LinkedHashSet<>(List.of("directory", "prefix", "sweep_interval")));

    private Path directory = Path.of("sessions");
    private String prefix = "session_";
    private Duration sweepInterval = Duration.ofMinutes(10);

    /** Creates options with the defaults. */
    public FileSessionOptions() {}

    /** Creates a copy of {@code other}. */
    public FileSessionOptions(FileSessionOptions other) {
        directory = other.directory;
        prefix = other.prefix;
        sweepInterval = other.sweepInterval;
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
    }

    /** Returns these options as JSON. */
    public JsonObject toJson() {
        return new JsonObject()
                .put("directory", directory.toString())
                .put("prefix", prefix)
                .put("sweep_interval", sweepInterval.toSeconds());
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
}
