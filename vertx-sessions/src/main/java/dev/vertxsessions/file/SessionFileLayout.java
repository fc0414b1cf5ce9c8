package dev.vertxsessions.file;

import dev.vertxsessions.SessionTooLargeException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * The layout of a session file: two slots of equal size, each a 20-byte header ({@code VXS2}, sequence, length,
 * CRC-32C) and one version of the session's JSON, written alternately in place, so that a reader or a crash sees the
 * newest complete version; a promoted session's file has one byte more after its slots.
 *
 * <p>See {@code docs/file-backend.md}, "How a session is stored" and "Crash safety".
 */
final class SessionFileLayout {

    static final int HEADER_BYTES = 20;
    private static final int MAGIC = ('V' << 24) | ('X' << 16) | ('S' << 8) | '2';
    private static final int MIN_SLOT_BYTES = 512;
    /** Largest slot: a session file is at most 2 × 64 MiB. */
    private static final int MAX_SLOT_BYTES = 1 << 26;

    /** The most that {@code file_max_session_bytes} may be. */
    static final int MAX_FILE_BYTES = 2 * MAX_SLOT_BYTES;

    /** The byte after the two slots of a promoted session's file. */
    private static final byte PROMOTED_MARK = 'P';

    /** The valid version a file holds. */
    static final class Version {
        final long sequence;
        /** Which slot holds it: 0 or 1. */
        final int slot;

        final int slotBytes;
        final byte[] json;

        Version(long sequence, int slot, int slotBytes, byte[] json) {
            this.sequence = sequence;
            this.slot = slot;
            this.slotBytes = slotBytes;
            this.json = json;
        }

        /** Whether {@code json} fits into the other slot of this file. */
        boolean otherSlotFits(byte[] json) {
            return HEADER_BYTES + json.length <= slotBytes;
        }

        /** Byte offset in the file of the slot that the next write goes to. */
        long otherSlotOffset() {
            return slot == 0 ? slotBytes : 0;
        }
    }

    private SessionFileLayout() {}

    /** Returns the newest valid version in a file's bytes, or null when neither slot is valid. */
    static Version read(byte[] file) {
        if (file.length < 2 * MIN_SLOT_BYTES || file.length > MAX_FILE_BYTES) {
            return null;
        }
        int slotBytes = file.length / 2; // an odd length: the promoted mark follows the slots
        Version first = slot(file, 0, slotBytes);
        Version second = slot(file, 1, slotBytes);
        if (first == null) {
            return second;
        }
        return second != null && second.sequence > first.sequence ? second : first;
    }

    /**
     * Returns a new file of at most {@code maxFileBytes} holding {@code json} as version {@code sequence}, with room
     * to grow; throws {@link SessionTooLargeException} when the JSON does not fit.
     */
    static byte[] newFile(long sequence, byte[] json, boolean promoted, int maxFileBytes) {
        int slotBytes = newSlotBytes(json.length, maxFileBytes);
        byte[] file = new byte[(int) length(slotBytes, promoted)];
        ByteBuffer.wrap(file).put(slot(sequence, json));
        if (promoted) {
            file[file.length - 1] = PROMOTED_MARK;
        }
        return file;
    }

    /**
     * Returns the slot size of a new file holding JSON of {@code jsonBytes}: twice what it needs, in powers of two
     * from 512 bytes, so that it can grow in place, but no more than a file of {@code maxFileBytes} holds. Throws
     * {@link SessionTooLargeException} when the JSON does not fit.
     */
    static int newSlotBytes(int jsonBytes, int maxFileBytes) {
        long needed = (long) HEADER_BYTES + jsonBytes;
        long largest = largestSlotBytes(maxFileBytes);
        if (needed > largest) {
            long fileBytes = 2 * needed + 1;
            throw new SessionTooLargeException(
                    "session would need a file of " + fileBytes + " bytes, over file_max_session_bytes (" + maxFileBytes
                            + "); store less in the session or raise file_max_session_bytes",
                    (int) Math.min(Integer.MAX_VALUE, fileBytes),
                    maxFileBytes);
        }
        long slotBytes = MIN_SLOT_BYTES;
        while (slotBytes < needed * 2 && slotBytes < largest) {
            slotBytes *= 2;
        }
        return (int) Math.min(slotBytes, largest);
    }

    /** Returns whether JSON of {@code jsonBytes} fits a new file of at most {@code maxFileBytes}. */
    static boolean fits(long jsonBytes, int maxFileBytes) {
        return HEADER_BYTES + jsonBytes <= largestSlotBytes(maxFileBytes);
    }

    private static long largestSlotBytes(int maxFileBytes) {
        return Math.min(MAX_SLOT_BYTES, (maxFileBytes - 1L) / 2); // room for the promoted mark
    }

    /** Returns the length of a file with slots of {@code slotBytes}, with the mark of a promoted session or not. */
    static long length(int slotBytes, boolean promoted) {
        return 2L * slotBytes + (promoted ? 1 : 0);
    }

    /** Returns whether a file of {@code length} bytes is marked as a promoted session's (it may not be a session). */
    static boolean isMarkedPromoted(long length) {
        return length % 2 != 0;
    }

    /** Returns the length the quota counts for a file: its slots, not the mark (so a login needs no room). */
    static long countedLength(long length) {
        return length - length % 2;
    }

    /** Returns the one-byte mark that follows the slots of a promoted session's file. */
    static ByteBuffer promotedMark() {
        return ByteBuffer.wrap(new byte[] {PROMOTED_MARK});
    }

    /** Returns the bytes of one slot: header and JSON. */
    static ByteBuffer slot(long sequence, byte[] json) {
        ByteBuffer slot = ByteBuffer.allocate(HEADER_BYTES + json.length);
        slot.putInt(MAGIC)
                .putLong(sequence)
                .putInt(json.length)
                .putInt(checksum(sequence, json, 0, json.length))
                .put(json)
                .flip();
        return slot;
    }

    /** Returns the JSON of a file's newest version as text, for people and tests; null when it has none. */
    static String json(byte[] file) {
        Version version = read(file);
        return version == null ? null : new String(version.json, StandardCharsets.UTF_8);
    }

    private static Version slot(byte[] file, int index, int slotBytes) {
        ByteBuffer header = ByteBuffer.wrap(file, index * slotBytes, HEADER_BYTES);
        if (header.getInt() != MAGIC) {
            return null;
        }
        long sequence = header.getLong();
        int length = header.getInt();
        int checksum = header.getInt();
        if (sequence < 1 || length < 0 || length > slotBytes - HEADER_BYTES) {
            return null;
        }
        int start = index * slotBytes + HEADER_BYTES;
        if (checksum(sequence, file, start, length) != checksum) {
            return null;
        }
        byte[] json = new byte[length];
        System.arraycopy(file, start, json, 0, length);
        return new Version(sequence, index, slotBytes, json);
    }

    private static int checksum(long sequence, byte[] json, int offset, int length) {
        CRC32C crc = new CRC32C();
        ByteBuffer header =
                ByteBuffer.allocate(12).putLong(sequence).putInt(length).flip();
        crc.update(header);
        crc.update(json, offset, length);
        return (int) crc.getValue();
    }
}
