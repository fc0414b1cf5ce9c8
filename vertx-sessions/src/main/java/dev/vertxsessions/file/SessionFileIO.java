package dev.vertxsessions.file;

import dev.vertxsessions.internal.SessionIds;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Reads and writes one session's file, named {@code prefix + id}: the newest valid version of its two slots
 * ({@link SessionFileLayout}), a next version written into the free slot in place, or a whole new file renamed over
 * it. Takes no lock: the writes are called under the session's stripe lock.
 *
 * <p>Thread-safe (no mutable state). See {@code docs/file-backend.md}, "How a session is stored".
 */
final class SessionFileIO {

    private static final System.Logger LOG = System.getLogger("dev.vertxsessions.file");

    private final SafeFiles files;
    private final String prefix;
    private final int maxSessionBytes;

    SessionFileIO(SafeFiles files, String prefix, int maxSessionBytes) {
        this.files = files;
        this.prefix = prefix;
        this.maxSessionBytes = maxSessionBytes;
    }

    /**
     * A session file opened for a locked write: its current content (null when absent) and where it is, and the
     * length of the regular file its name holds (-1 for none), opened or not.
     */
    static final class Current implements AutoCloseable {
        final FileChannel channel;
        final SessionFileLayout.Version version;
        final StoredSession stored;
        final long length;

        Current(FileChannel channel, SessionFileLayout.Version version, StoredSession stored, long length) {
            this.channel = channel;
            this.version = version;
            this.stored = stored;
            this.length = length;
        }

        /** Returns the length the quota counts for the file, or -1 when there is none. */
        long countedLength() {
            return length < 0 ? -1 : SessionFileLayout.countedLength(length);
        }

        @Override
        public void close() throws IOException {
            if (channel != null) {
                channel.close();
            }
        }
    }

    /** Reads a session file now, on the calling thread; null when there is none or the entry is not a session file. */
    StoredSession read(String id) throws IOException {
        byte[] content = files.readRegularFile(pathOf(id));
        return content == null ? null : parse(content);
    }

    /** Reads the newest valid version of a session file now, on the calling thread; null when there is none. */
    SessionFileLayout.Version readVersion(String id) throws IOException {
        byte[] content = files.readRegularFile(pathOf(id));
        return content == null ? null : SessionFileLayout.read(content);
    }

    /**
     * Opens a session file for reading and writing in place; a missing entry, or one that is not a session file,
     * gives a {@link Current} without content, so the write replaces it by a rename.
     */
    Current openForWrite(String id) throws IOException {
        Path file = pathOf(id);
        BasicFileAttributes entry = SafeFiles.entry(file);
        if (!files.isReadable(entry)) {
            return new Current(null, null, null, entry != null && entry.isRegularFile() ? entry.size() : -1);
        }
        FileChannel channel;
        try {
            // Never through a symbolic link: a write in place would land in whatever file the link names.
            channel = FileChannel.open(
                    file, StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return new Current(null, null, null, -1);
        }
        try {
            byte[] content = files.readAll(channel);
            SessionFileLayout.Version version = content == null ? null : SessionFileLayout.read(content);
            long length = content != null ? content.length : channel.size(); // read whole: no second fstat
            return new Current(channel, version, version == null ? null : parseJson(version.json), length);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /**
     * Writes {@code json} as the next version of the open file into its free slot, and sets or clears the mark of a
     * promoted session after the slots.
     */
    void writeInPlace(Current current, byte[] json, boolean promoted) throws IOException {
        SessionFileLayout.Version version = current.version;
        ByteBuffer slot = SessionFileLayout.slot(version.sequence + 1, json);
        long offset = version.otherSlotOffset();
        while (slot.hasRemaining()) {
            offset += current.channel.write(slot, offset);
        }
        long slots = SessionFileLayout.length(version.slotBytes, false);
        if (current.length != SessionFileLayout.length(version.slotBytes, promoted)) {
            if (promoted) {
                current.channel.write(SessionFileLayout.promotedMark(), slots);
            } else {
                current.channel.truncate(slots);
            }
        }
    }

    /** Writes a whole new session file: a temporary file in the directory, renamed over the session file. */
    void writeNewFile(String id, long sequence, byte[] json, boolean promoted) throws IOException {
        byte[] bytes = SessionFileLayout.newFile(sequence, json, promoted, maxSessionBytes);
        files.replaceFile(pathOf(id), SafeFiles.TEMP_PREFIX + prefix + id, bytes);
    }

    /** Returns the length the quota counts for the file of {@code id}, or -1 when it is not a regular file. */
    long countedLength(String id) throws IOException {
        BasicFileAttributes entry = SafeFiles.entry(pathOf(id));
        return entry == null || !entry.isRegularFile() ? -1 : SessionFileLayout.countedLength(entry.size());
    }

    /** Deletes the file of {@code id}; returns whether there was one. Call under the session's lock. */
    boolean delete(String id) throws IOException {
        return Files.deleteIfExists(pathOf(id));
    }

    /** Parses a session file; a corrupt or foreign file reads as absent, never as an error. */
    private StoredSession parse(byte[] file) {
        SessionFileLayout.Version version = SessionFileLayout.read(file);
        if (version == null) {
            LOG.log(Level.DEBUG, "a file in " + files.directory() + " is not a session file and reads as absent");
            return null;
        }
        return parseJson(version.json);
    }

    /** Parses the JSON of a session file's version; content that is not a session reads as absent. */
    StoredSession parseJson(byte[] json) {
        try {
            return StoredSession.parse(json);
        } catch (IOException | RuntimeException e) {
            // Neither the file name (it holds the session ID) nor the parser's message (it quotes the content).
            LOG.log(
                    Level.DEBUG,
                    "a file in " + files.directory() + " is not a session and reads as absent: "
                            + e.getClass().getSimpleName());
            return null;
        }
    }

    /** Returns the session ID a file of this name holds, or null when the name is not a session file's. */
    String sessionIdOf(String fileName) {
        if (!fileName.startsWith(prefix)) {
            return null;
        }
        String id = fileName.substring(prefix.length());
        return SessionIds.isWellFormed(id) ? id : null;
    }

    private Path pathOf(String id) {
        if (!SessionIds.isWellFormed(id)) {
            throw new IllegalArgumentException("not a session ID"); // unreachable from requests: IDs are checked first
        }
        return files.directory().resolve(prefix + id);
    }
}
