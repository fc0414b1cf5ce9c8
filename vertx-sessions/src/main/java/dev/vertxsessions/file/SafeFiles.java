package dev.vertxsessions.file;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * File I/O in a directory that others may write to: never through a link, never beyond a size bound, never a
 * half-written file (temporary file, then an atomic rename), every file private (0600) from its creation on.
 *
 * <p>Thread-safe (no mutable state). See {@code docs/file-backend.md}, "A hostile directory" and "Private files".
 */
final class SafeFiles {

    private static final System.Logger LOG = System.getLogger("dev.vertxsessions.file");

    /** The name prefix of temporary files, which the sweeper deletes when a crash left them behind. */
    static final String TEMP_PREFIX = ".tmp-";

    /** Bytes per read or write call: the JDK copies a heap buffer into a direct buffer of its size, cached per thread. */
    private static final int IO_CHUNK_BYTES = 1 << 16;

    private static final Set<OpenOption> CREATE_TEMP = Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);

    private final Path directory;
    /** Mode 0600 at creation, or nothing on a file system without POSIX permissions. */
    private final FileAttribute<?>[] privateFile;

    private final int maxFileBytes;

    private SafeFiles(Path directory, FileAttribute<?>[] privateFile, int maxFileBytes) {
        this.directory = directory;
        this.privateFile = privateFile;
        this.maxFileBytes = maxFileBytes;
    }

    /**
     * Opens {@code directory}, creating it 0700 when missing, for files of at most {@code maxFileBytes}; throws
     * {@link IllegalArgumentException} when it is not writable by this process.
     */
    static SafeFiles open(Path directory, int maxFileBytes) throws IOException {
        boolean posix = directory.getFileSystem().supportedFileAttributeViews().contains("posix");
        FileAttribute<?>[] privateFile = posix
                ? new FileAttribute<?>[] {
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))
                }
                : new FileAttribute<?>[0];
        createDirectory(directory, posix);
        Path real = directory.toRealPath();
        if (!Files.isWritable(real)) {
            throw new IllegalArgumentException("directory " + real
                    + " is not writable by this process: fix its permissions or choose another directory");
        }
        return new SafeFiles(real, privateFile, maxFileBytes);
    }

    /**
     * Creates the session directory with mode 0700, its missing parents with the defaults. An existing directory is
     * left as it is, mode included.
     */
    private static void createDirectory(Path directory, boolean posix) throws IOException {
        Path absolute = directory.toAbsolutePath();
        if (Files.isDirectory(absolute)) {
            return; // also through a link to a directory, as before
        }
        if (absolute.getParent() != null) {
            Files.createDirectories(absolute.getParent());
        }
        try {
            Files.createDirectory(
                    absolute,
                    posix
                            ? new FileAttribute<?>[] {
                                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"))
                            }
                            : new FileAttribute<?>[0]);
        } catch (FileAlreadyExistsException e) {
            if (!Files.isDirectory(absolute)) {
                throw e;
            }
            // created meanwhile by another process: its mode is its creator's
        }
    }

    /** Returns the directory, as a real path. */
    Path directory() {
        return directory;
    }

    /** Returns the attributes that create a file with mode 0600 (none on a file system without POSIX permissions). */
    FileAttribute<?>[] privateFile() {
        return privateFile;
    }

    /** Returns the content of {@code file} when it is a regular file within the size bound, else null. */
    byte[] readRegularFile(Path file) throws IOException {
        if (!isReadable(entry(file))) {
            return null;
        }
        // Never through a symbolic link, not even one put there since the check: the open fails instead.
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            return readAll(channel);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /**
     * Returns the attributes of {@code file}, without following a link, or null when there is no such entry; throws
     * for a directory, as no rename can replace it.
     */
    static BasicFileAttributes entry(Path file) throws IOException {
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
        if (attributes.isDirectory()) {
            throw new IOException("a directory has the name of a session file");
        }
        return attributes;
    }

    /**
     * Whether an entry may be opened: a regular file within the size bound ({@code file_max_session_bytes}).
     * Anything else reads as absent, and a write replaces it by a rename.
     */
    boolean isReadable(BasicFileAttributes entry) {
        if (entry == null) {
            return false;
        }
        if (!entry.isRegularFile() || entry.size() > maxFileBytes) {
            // Not opened at all: opening a FIFO for reading blocks until a writer comes.
            LOG.log(
                    Level.DEBUG,
                    "an entry in " + directory + " that is not a regular file or larger than file_max_session_bytes"
                            + " reads as absent");
            return false;
        }
        return true;
    }

    /**
     * Returns the content of an open file, or null when it is larger than the size bound or shrinks while read. The
     * size is that of what was opened, so the read is bounded whatever the name meant at the check.
     */
    byte[] readAll(FileChannel channel) throws IOException {
        long size = channel.size();
        if (size > maxFileBytes) {
            return null;
        }
        byte[] content = new byte[(int) size];
        int filled = 0;
        while (filled < content.length) {
            int read = channel.read(
                    ByteBuffer.wrap(content, filled, Math.min(IO_CHUNK_BYTES, content.length - filled)), filled);
            if (read <= 0) {
                return null; // shrank: not a session file of ours
            }
            filled += read;
        }
        return content;
    }

    /** Replaces {@code target} with {@code bytes} at once: a temporary file {@code tempName-*}, renamed over it. */
    void replaceFile(Path target, String tempName, byte[] bytes) throws IOException {
        Path temp = directory.resolve(tempName + "-" + Long.toHexString(System.nanoTime()));
        try {
            // 0600 from its creation on; CREATE_NEW (O_EXCL) never follows a link. The rename keeps the mode.
            try (FileChannel channel = FileChannel.open(temp, CREATE_TEMP, privateFile)) {
                for (int written = 0; written < bytes.length; ) {
                    written += channel.write(
                            ByteBuffer.wrap(bytes, written, Math.min(IO_CHUNK_BYTES, bytes.length - written)));
                }
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp); // only a failed write or move leaves it behind
            throw e;
        }
    }

    /**
     * Returns a failure fit for a log line or an exception message: its type and the operating system's reason,
     * without the file name, which holds the session ID, a credential. The stack trace is kept.
     */
    static IOException withoutFileName(Throwable e) {
        String reason = e instanceof java.nio.file.FileSystemException fileSystemException
                ? fileSystemException.getReason()
                : e.getMessage();
        if (reason != null && (reason.contains("/") || reason.contains(java.io.File.separator))) {
            reason = null; // a message that names a path may name a session file
        }
        String type = e.getClass() == IOException.class ? "" : e.getClass().getName();
        IOException clean = new IOException(reason == null ? type : type.isEmpty() ? reason : type + ": " + reason);
        clean.setStackTrace(e.getStackTrace());
        return clean;
    }
}
