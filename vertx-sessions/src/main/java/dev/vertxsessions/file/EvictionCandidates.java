package dev.vertxsessions.file;

import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The files this process may evict for the quota, oldest first (by the time it wrote them or a scan found them), and
 * those it read and found not evictable, which scans do not offer again until this process writes them.
 *
 * <p>Not thread-safe: used under the lock of its {@link FileQuota}. See {@code docs/file-backend.md}, "Quota".
 */
final class EvictionCandidates {

    private record Candidate(String id, long writtenAt, long order) {}

    private final Map<String, Candidate> candidates = new HashMap<>();
    private final TreeSet<Candidate> oldestFirst =
            new TreeSet<>(Comparator.comparingLong(Candidate::writtenAt).thenComparingLong(Candidate::order));
    /** Files read and found not evictable since this process last wrote them: scans do not offer them again. */
    private final Set<String> kept = new HashSet<>();

    private long nextOrder;

    /** Adds the file of {@code id}, written (or last modified) at {@code writtenAt}, as the newest candidate. */
    void remember(String id, long writtenAt) {
        Candidate candidate = new Candidate(id, writtenAt, nextOrder++);
        candidates.put(id, candidate);
        oldestFirst.add(candidate);
    }

    /** Drops the file of {@code id} as a candidate. */
    void forget(String id) {
        Candidate candidate = candidates.remove(id);
        if (candidate != null) {
            oldestFirst.remove(candidate);
        }
    }

    /** Records that the file of {@code id} was read and is not to be evicted. */
    void keep(String id) {
        kept.add(id);
    }

    /** Records that this process wrote or deleted the file of {@code id}: a later scan may offer it again. */
    void unkeep(String id) {
        kept.remove(id);
    }

    /** Whether a scan that found the file of {@code id} may offer it: it is neither a candidate nor kept. */
    boolean isNew(String id) {
        return !candidates.containsKey(id) && !kept.contains(id);
    }

    int size() {
        return candidates.size();
    }

    /** Returns the IDs of the candidates, oldest first; {@code remove()} drops the last one returned. */
    Iterator<String> oldestFirst() {
        Iterator<Candidate> oldest = oldestFirst.iterator();
        return new Iterator<>() {
            private Candidate last;

            @Override
            public boolean hasNext() {
                return oldest.hasNext();
            }

            @Override
            public String next() {
                last = oldest.next();
                return last.id();
            }

            @Override
            public void remove() {
                oldest.remove();
                candidates.remove(last.id());
            }
        };
    }
}
