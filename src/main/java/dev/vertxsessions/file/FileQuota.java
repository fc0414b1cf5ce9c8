package dev.vertxsessions.file;

import dev.vertxsessions.SessionStoreUnavailableException;
import java.io.IOException;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/*
 * How the file backend bounds its directory (file_max_sessions, file_max_bytes) without ever evicting a promoted
 * session for an anonymous one.
 *
 * The quota keeps an index of the session files this process knows: the anonymous ones in the order they were last
 * written (oldest first), the promoted ones (regenerated, or holding a Vert.x-Web user) apart, each with its file's
 * length. It is filled at start-up from a scan of the directory and kept up to date by every write, delete and sweep
 * of the stores of this process on the directory (they share one quota, as they share the lock).
 *
 * A write that would add a file or make one longer asks first (admit). When the result would exceed a limit, the
 * oldest anonymous sessions are deleted until it fits; the session being written and the one a regenerate moves
 * from are never candidates, and neither is any promoted session. When no anonymous session is left to delete,
 * the write fails with SessionStoreUnavailableException (503): an anonymous visitor then gets no session, and a
 * login still succeeds because regenerate moves a file, so it adds none. A write that neither adds nor grows a
 * file is always admitted. A promoted session that needs a new file (a login without an earlier session) may
 * evict anonymous sessions too, and fails only when the quota is full of promoted sessions.
 *
 * Evicting takes the victim's stripe lock with tryLock, never waiting, so two writers that each hold their own
 * stripe never wait for each other; a victim whose stripe is busy is skipped (another writer is using it). The
 * deletion itself (one unlink) runs under this object's monitor, which is also what orders concurrent admissions.
 *
 * A write that fails after its admission is forgotten if it left no file; a failed move also leaves the session
 * it moved from uncounted. Either way the count can be low by one per failure (a disk error) until the next start.
 *
 * Limits: lengths are the files' lengths (the disk also rounds each file up to a block, 4 KiB on most file systems,
 * so file_max_sessions bounds the disk use better than file_max_bytes for small sessions). Files that other
 * processes sharing the directory create or delete are seen at the next start-up only: give each process its
 * share of the quota, or one process the directory.
 */
final class FileQuota {

    /** Deletes a session's file for an eviction, unless its stripe is busy; returns whether it deleted it. */
    interface Evictor {
        boolean tryEvict(String id) throws IOException;
    }

    private final long maxSessions;
    private final long maxBytes;
    /** Anonymous sessions, least recently written first, with the length of their file. */
    private final LinkedHashMap<String, Long> anonymous = new LinkedHashMap<>();

    private final Map<String, Long> promoted = new HashMap<>();
    private long bytes;

    FileQuota(long maxSessions, long maxBytes) {
        this.maxSessions = maxSessions;
        this.maxBytes = maxBytes;
    }

    /** Returns whether a limit is set; without one, the store keeps no index. */
    boolean isBounded() {
        return maxSessions < Long.MAX_VALUE || maxBytes < Long.MAX_VALUE;
    }

    /** Records a file found at start-up; call in the order the files were last written. */
    synchronized void found(String id, long length, boolean isAnonymous) {
        record(id, length, isAnonymous);
    }

    /**
     * Admits a write that leaves the file of {@code id} {@code length} bytes long (and deletes the file of
     * {@code previousId}, when not null), evicting the oldest anonymous sessions if the result would exceed a
     * limit, and records it. Throws {@link SessionStoreUnavailableException} when no eviction can make room.
     */
    synchronized void admit(String id, String previousId, long length, boolean isAnonymous, Evictor evictor)
            throws IOException {
        Long before = lengthOf(id);
        Long moved = previousId == null ? null : lengthOf(previousId);
        long sessions = (long) anonymous.size() + promoted.size();
        long sessionsAfter = sessions + (before == null ? 1 : 0) - (moved == null ? 0 : 1);
        long bytesAfter = bytes + length - (before == null ? 0 : before) - (moved == null ? 0 : moved);
        boolean adds = sessionsAfter > sessions || bytesAfter > bytes;
        if (adds) {
            Iterator<Map.Entry<String, Long>> oldest = anonymous.entrySet().iterator();
            while ((sessionsAfter > maxSessions || bytesAfter > maxBytes) && oldest.hasNext()) {
                Map.Entry<String, Long> victim = oldest.next();
                String victimId = victim.getKey();
                if (victimId.equals(id) || victimId.equals(previousId) || !evictor.tryEvict(victimId)) {
                    continue;
                }
                oldest.remove();
                bytes -= victim.getValue();
                sessionsAfter--;
                bytesAfter -= victim.getValue();
            }
            if (sessionsAfter > maxSessions || bytesAfter > maxBytes) {
                throw new SessionStoreUnavailableException(
                        "session directory is full: "
                                + (sessionsAfter > maxSessions ? "file_max_sessions" : "file_max_bytes")
                                + " is reached and no anonymous session is left to evict; raise the limit",
                        null);
            }
        }
        if (previousId != null) {
            forget(previousId);
        }
        forget(id);
        record(id, length, isAnonymous);
    }

    /** Forgets the file of {@code id}: it was deleted, or its write failed. */
    synchronized void forget(String id) {
        Long length = anonymous.remove(id);
        if (length == null) {
            length = promoted.remove(id);
        }
        if (length != null) {
            bytes -= length;
        }
    }

    private Long lengthOf(String id) {
        Long length = anonymous.get(id);
        return length != null ? length : promoted.get(id);
    }

    private void record(String id, long length, boolean isAnonymous) {
        (isAnonymous ? anonymous : promoted).put(id, length);
        bytes += length;
    }
}
