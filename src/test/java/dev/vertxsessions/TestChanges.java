package dev.vertxsessions;

import java.util.Map;
import java.util.Set;

/** Builds {@link SessionChanges} for tests that drive a store directly (the constructor is the core's alone). */
public final class TestChanges {

  private TestChanges() {
  }

  /** A change set that puts {@code key} = {@code value} on session {@code id}. */
  public static SessionChanges put(String id, boolean isNew, String key, Object value, long createdAt,
                                   long expiresAt) {
    return new SessionChanges(id, null, isNew, false, Map.of(key, value), Set.of(), Map.of(key, value), createdAt,
      expiresAt, createdAt, null);
  }
}
