package dev.vertxsessions.file;

import dev.vertxsessions.internal.SessionIds;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * One scan of a directory for the quota: lists its session files by name and metadata (lstat only, never a file's
 * content), and, for a recount, corrects what it listed for the files this process changed while it listed them.
 *
 * <p>Not thread-safe: {@link #list} runs on a worker, everything else under the lock of its {@link FileQuota}. See
 * {@code docs/file-backend.md}, "Quota".
 */
final class QuotaScan {

    private static final int BATCH = 1000;

    /** A session file a scan found: its ID, length and modification time. */
    record Found(String id, long length, long modified) {}

    /** Whether the scan replaces the directory's count by what it lists. */
    final boolean recount;
    /** Whether a write that finds no candidate is admitted meanwhile (the start-up scan). */
    final boolean lenient;

    /** The count when the scan began (a recount only). */
    private final SharedCount.Counts base;
    /** The counted length (-1: none) of each file this process changed since the scan began. */
    private final Map<String, Long> touched = new HashMap<>();
    /** What a recount listed: ID to counted length; null otherwise. */
    private final Map<String, Long> listed;

    private long deltaSessions;
    private long deltaBytes;

    QuotaScan(boolean recount, SharedCount.Counts base, boolean lenient) {
        this.recount = recount;
        this.base = base;
        this.lenient = lenient;
        this.listed = recount ? new HashMap<>() : null;
    }

    /**
     * Lists the session files named {@code prefix + id} in {@code directory}, handing them to {@code take} in
     * batches; returns false when it stopped because {@code closed} became true.
     */
    static boolean list(Path directory, String prefix, BooleanSupplier closed, Consumer<List<Found>> take)
            throws IOException {
        List<Found> batch = new ArrayList<>(BATCH);
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory)) {
            for (Path entry : entries) {
                if (closed.getAsBoolean()) {
                    return false;
                }
                String id = idOf(entry.getFileName().toString(), prefix);
                if (id == null) {
                    continue;
                }
                BasicFileAttributes attributes;
                try {
                    attributes = Files.readAttributes(entry, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                } catch (IOException e) {
                    continue; // gone since listed
                }
                if (attributes.isRegularFile()) {
                    batch.add(new Found(
                            id, attributes.size(), attributes.lastModifiedTime().toMillis()));
                    if (batch.size() == BATCH) {
                        take.accept(batch);
                    }
                }
            }
        }
        take.accept(batch);
        return true;
    }

    /** Records a file the scan found (for a recount); returns whether this process changed it since the scan began. */
    boolean found(Found found) {
        if (listed != null) {
            listed.put(found.id(), SessionFileLayout.countedLength(found.length()));
        }
        return touched.containsKey(found.id());
    }

    /** Records a change of the count by this process during the scan. */
    void counted(long sessions, long bytes) {
        deltaSessions += sessions;
        deltaBytes += bytes;
    }

    /** Records that this process left the file of {@code id} {@code length} counted bytes long (-1: none). */
    void touch(String id, long length) {
        touched.put(id, length);
    }

    /**
     * Returns the count a recount gives, {@code now} being the count as it is: what it listed, with the files this
     * process changed meanwhile as it left them, plus what other processes counted during the scan.
     */
    SharedCount.Counts recounted(SharedCount.Counts now) {
        long sessions = 0;
        long bytes = 0;
        for (Map.Entry<String, Long> found : listed.entrySet()) {
            if (!touched.containsKey(found.getKey())) {
                sessions++;
                bytes += found.getValue();
            }
        }
        for (long length : touched.values()) {
            sessions += FileQuota.present(length);
            bytes += Math.max(length, 0);
        }
        return new SharedCount.Counts(
                Math.max(0, now.sessions() + sessions - base.sessions() - deltaSessions),
                Math.max(0, now.bytes() + bytes - base.bytes() - deltaBytes));
    }

    private static String idOf(String fileName, String prefix) {
        if (!fileName.startsWith(prefix)) {
            return null;
        }
        String id = fileName.substring(prefix.length());
        return SessionIds.isWellFormed(id) ? id : null;
    }
}
