package dev.vertxsessions.file;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * The count of a directory's session files and of their bytes, kept in a file of the directory
 * ({@code .vertx-sessions.quota-<prefix>}: 24 bytes with a CRC-32C, under an OS byte-range lock on byte 64) so that
 * every process sharing the directory reads and changes one count; byte 65 tells a process whether it is alone.
 *
 * <p>Not thread-safe: one instance per file and process, used under the lock of its {@link FileQuota}. POSIX locks
 * belong to a process, and closing any channel of the file releases them all, so this is the only channel. See
 * {@code docs/file-backend.md}, "Quota".
 */
final class SharedCount implements AutoCloseable {

    /** The counts of a directory: session files and their bytes. */
    record Counts(long sessions, long bytes) {}

    static final String FILE_PREFIX = ".vertx-sessions.quota-";

    private static final int MAGIC = ('V' << 24) | ('X' << 16) | ('S' << 8) | 'Q';
    private static final int RECORD_BYTES = 24;
    private static final long RECORD_LOCK = 64;
    private static final long PRESENCE = 65;
    private static final long JOINING = 66;
    // READ with WRITE: a FIFO swapped in for the file since the check is opened without blocking (Linux).
    private static final Set<OpenOption> OPEN = Set.of(
            StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);

    private final FileChannel channel;

    /** Opens (creating it 0600 when missing) the count file of {@code prefix} in {@code directory}. */
    SharedCount(Path directory, String prefix, FileAttribute<?>[] privateFile) throws IOException {
        Path file = directory.resolve(FILE_PREFIX + prefix);
        try {
            if (!Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                    .isRegularFile()) {
                throw new IllegalArgumentException(
                        "directory " + directory + ": " + file.getFileName() + " is not a regular file; remove it");
            }
        } catch (NoSuchFileException e) {
            // created below; a link put there meanwhile fails the open (NOFOLLOW_LINKS) instead of being followed
        }
        channel = FileChannel.open(file, OPEN, privateFile);
    }

    /**
     * Marks this process as a user of the count until {@link #close()}, and returns whether it must count the
     * directory: it is the only user (no other process keeps the count), or the file holds no count yet. Two
     * processes joining at once take turns, so only one of them counts a new directory.
     */
    @SuppressWarnings("try") // held for the block, which needs no reference to it
    boolean join() throws IOException {
        try (FileLock joining = channel.lock(JOINING, 1, false)) {
            boolean alone;
            try (FileLock probe = channel.tryLock(PRESENCE, 1, false)) {
                alone = probe != null;
            }
            channel.lock(PRESENCE, 1, true); // held until the channel closes
            try (FileLock held = lock()) {
                if (read() == null) {
                    write(new Counts(0, 0));
                    return true;
                }
            }
            return alone;
        }
    }

    /** Takes the lock of the count, waiting for another process that holds it (it holds it for a few calls). */
    FileLock lock() throws IOException {
        return channel.lock(RECORD_LOCK, 1, false);
    }

    /** Returns the count, or null when the file holds none (new, or not written by this class). Call under lock. */
    Counts read() throws IOException {
        ByteBuffer record = ByteBuffer.allocate(RECORD_BYTES);
        while (record.hasRemaining()) {
            if (channel.read(record, record.position()) < 0) {
                return null;
            }
        }
        record.flip();
        if (record.getInt() != MAGIC) {
            return null;
        }
        long sessions = record.getLong();
        long bytes = record.getLong();
        return record.getInt() == checksum(sessions, bytes) && sessions >= 0 && bytes >= 0
                ? new Counts(sessions, bytes)
                : null;
    }

    /** Writes the count, in one call. Call under lock. */
    void write(Counts counts) throws IOException {
        ByteBuffer record = ByteBuffer.allocate(RECORD_BYTES)
                .putInt(MAGIC)
                .putLong(counts.sessions())
                .putLong(counts.bytes())
                .putInt(checksum(counts.sessions(), counts.bytes()))
                .flip();
        while (record.hasRemaining()) {
            channel.write(record, record.position());
        }
    }

    /** Closes the file, which also ends this process's use of the count. */
    @Override
    public void close() throws IOException {
        channel.close();
    }

    private static int checksum(long sessions, long bytes) {
        CRC32C crc = new CRC32C();
        crc.update(ByteBuffer.allocate(16).putLong(sessions).putLong(bytes).flip());
        return (int) crc.getValue();
    }
}
