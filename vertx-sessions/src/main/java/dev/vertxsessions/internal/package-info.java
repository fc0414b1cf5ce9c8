/**
 * Implementation details shared by the backends (JSON values, session IDs, the Vert.x-Web bridge). Not part of
 * the public API: users never need to import anything from here, and it may change in any release.
 */
package dev.vertxsessions.internal;
