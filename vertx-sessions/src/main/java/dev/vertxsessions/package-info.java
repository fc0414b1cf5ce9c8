/**
 * Server-grade, non-blocking sessions for Vert.x-Web.
 *
 * <p>Everything starts at {@link dev.vertxsessions.SessionMiddleware#create(io.vertx.core.Vertx, SessionConfig)}:
 * build a {@link dev.vertxsessions.SessionConfig}, add the middleware to a {@code Router}, and read the
 * session in route handlers through {@link dev.vertxsessions.SessionMiddleware#session(io.vertx.ext.web.RoutingContext)}
 * or Vert.x-Web's own {@code ctx.session()}. Backends live in their own packages
 * ({@code signedcookies}, {@code file}, {@code redis}, {@code memory}, {@code vertxweb}) and implement
 * {@link dev.vertxsessions.SessionBackend}; a custom backend implements it too, or extends
 * {@link dev.vertxsessions.BaseSessionInterface} the seed's way. {@code dev.vertxsessions.internal} is not API.
 */
package dev.vertxsessions;
