/**
 * The backend that runs a Vert.x-Web {@code SessionStore} (local, clustered, Redis, Infinispan, Caffeine):
 * {@link dev.vertxsessions.vertxweb.VertxWebStoreBackend#factory(java.util.function.Function)}.
 */
package dev.vertxsessions.vertxweb;
