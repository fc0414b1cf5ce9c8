/**
 * The signed-cookie backend, the default: the session travels in an HMAC-SHA256-signed (optionally AES-GCM
 * encrypted) cookie, with its expiry enforced on the server. Start at
 * {@link dev.vertxsessions.signedcookies.SignedSessionManager#factory()}.
 */
package dev.vertxsessions.signedcookies;
