package dev.vertxsessions.file;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Injects file-system faults under a running server, and undoes them. Permissions alone do not stop root (tests
 * and CI run as root here), so a read-only directory falls back to the immutable flag ({@code chattr +i}) and then
 * to a read-only bind mount; a full disk is a tiny tmpfs. A test whose fault cannot be injected is skipped with a
 * message naming what is missing.
 */
final class FileFaults {

    /** Undoes a fault. */
    interface Fault extends AutoCloseable {
        /** Returns how the fault was injected, for the test output. */
        String mechanism();

        @Override
        void close() throws IOException;
    }

    private FileFaults() {}

    /** Makes {@code directory} refuse new entries (no create, rename or delete in it) until closed, or skips. */
    static Fault readOnly(Path directory) throws IOException {
        List<String> tried = new ArrayList<>();
        // 1. Permissions: enough for an ordinary user, ignored by root.
        var before = Files.getPosixFilePermissions(directory);
        Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("r-xr-xr-x"));
        if (refusesNewFiles(directory)) {
            return fault("chmod 555", () -> Files.setPosixFilePermissions(directory, before));
        }
        Files.setPosixFilePermissions(directory, before);
        tried.add("chmod 555 (ignored: running as root)");
        // 2. The immutable flag: needs chattr (e2fsprogs) and a file system that supports it.
        String chattr = run("chattr", "+i", directory.toString());
        if (chattr == null && refusesNewFiles(directory)) {
            return fault("chattr +i", () -> mustRun("chattr", "-i", directory.toString()));
        }
        if (chattr == null) {
            run("chattr", "-i", directory.toString());
        }
        tried.add("chattr +i (" + (chattr == null ? "no effect" : chattr) + ")");
        // 3. A read-only bind mount of the directory onto itself: needs mount and the right to use it.
        String bind = run("mount", "--bind", directory.toString(), directory.toString());
        if (bind == null) {
            String remount = run("mount", "-o", "remount,bind,ro", directory.toString());
            if (remount == null && refusesNewFiles(directory)) {
                return fault("read-only bind mount", () -> mustRun("umount", directory.toString()));
            }
            run("umount", directory.toString());
            tried.add("mount -o remount,bind,ro (" + (remount == null ? "no effect" : remount) + ")");
        } else {
            tried.add("mount --bind (" + bind + ")");
        }
        Assumptions.assumeTrue(
                false,
                "cannot make a directory read-only here; tried " + String.join("; ", tried)
                        + ". Needs a non-root user, or chattr (e2fsprogs) on a file system with the immutable flag, or mount.");
        throw new AssertionError("unreachable");
    }

    /** Mounts a tmpfs of {@code size} (e.g. "64k") on {@code directory} until closed, or skips. */
    static Fault tinyTmpfs(Path directory, String size) throws IOException {
        String mount = run("mount", "-t", "tmpfs", "-o", "size=" + size + ",mode=0755", "tmpfs", directory.toString());
        Assumptions.assumeTrue(
                mount == null,
                "cannot mount a tmpfs to fill up (" + mount + "). Needs the mount program "
                        + "and root (CAP_SYS_ADMIN).");
        return fault("tmpfs size=" + size, () -> {
            if (run("umount", directory.toString()) != null) {
                mustRun(
                        "umount",
                        "-l",
                        directory.toString()); // still busy: detach now, freed when the last file closes
            }
        });
    }

    /** Fills the file system holding {@code directory} until it refuses to write; returns the filler file. */
    static Path fill(Path directory) {
        Path filler = directory.resolve("filler.bin");
        byte[] block = new byte[4096];
        try (var out = Files.newOutputStream(filler)) {
            for (int i = 0; i < 1_000_000; i++) {
                out.write(block);
                out.flush();
            }
        } catch (IOException e) {
            return filler; // No space left on device: full
        }
        throw new AssertionError("the file system did not fill up");
    }

    private static boolean refusesNewFiles(Path directory) {
        Path probe = directory.resolve(".probe-" + System.nanoTime());
        try {
            Files.createFile(probe);
            Files.delete(probe);
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    private interface Undo {
        void run() throws IOException;
    }

    private static Fault fault(String mechanism, Undo undo) {
        return new Fault() {
            @Override
            public String mechanism() {
                return mechanism;
            }

            @Override
            public void close() throws IOException {
                undo.run();
            }
        };
    }

    private static void mustRun(String... command) throws IOException {
        String error = run(command);
        if (error != null) {
            throw new IOException(String.join(" ", command) + " failed: " + error);
        }
    }

    /** Runs a command; returns null on success, else why it failed (its output, or that it is missing). */
    static String run(String... command) {
        try {
            Process process =
                    new ProcessBuilder(command).redirectErrorStream(true).start();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return command[0] + " timed out";
            }
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            return process.exitValue() == 0 ? null : command[0] + " exited " + process.exitValue() + ": " + output;
        } catch (IOException e) {
            return command[0] + " is not installed (" + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }
}
