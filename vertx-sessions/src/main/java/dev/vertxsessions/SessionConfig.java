package dev.vertxsessions;

import io.vertx.core.http.CookieSameSite;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Options of {@link SessionMiddleware}: the core and cookie options, and the choice of backend. Fluent setters in
 * code, or a {@link JsonObject} with the Nexios keys ({@code secret_key}, {@code session_cookie_name},
 * {@code cookie_samesite}, {@code expiry}, {@code manager}, ...).
 *
 * <p>Unlike Nexios, an unknown key, a value of the wrong type or an invalid value is refused at start-up with
 * an {@link IllegalArgumentException} naming the key and the fix. The JSON key of each option is in its setter's
 * documentation; {@link #toJson()} writes them back. A backend's own keys ({@code directory}, {@code redis_url},
 * ...) are read by that backend (see {@link SessionBackendProvider}) and kept here as they were given, in
 * {@link #getBackendOptions()}. The middleware runs on a validated copy that can no longer change.
 */
public class SessionConfig {

    /** The smallest secret key accepted, in bytes (UTF-8): 256 bits, the size of the HMAC-SHA256 output. */
    public static final int MIN_SECRET_BYTES = 32;

    /** The JSON keys of the core and cookie options, in the order of the README's configuration table. */
    public static final Set<String> JSON_KEYS = Collections.unmodifiableSet(new LinkedHashSet<>(List.of(
            "secret_key",
            "fallback_secret_keys",
            "session_cookie_name",
            "cookie_path",
            "cookie_domain",
            "cookie_secure",
            "cookie_httponly",
            "cookie_samesite",
            "cookie_persistent",
            "cookie_encryption",
            "expiry",
            "absolute_expiry",
            "anonymous_expiry",
            "rolling",
            "lazy_session",
            "cache_control",
            "session_id_transport",
            "session_id_header",
            "backend_timeout_ms",
            "max_sessions_per_user",
            "max_sessions_per_user_policy",
            "events_address",
            "record_client_info",
            "near_cache",
            "near_cache_max_entries",
            "near_cache_max_bytes",
            "near_cache_max_lag_ms",
            "manager")));

    private static final Pattern COOKIE_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");

    private String secretKey;
    private List<String> fallbackSecretKeys = List.of();
    private String cookieName = "session_id";
    private String cookiePath = "/";
    private String cookieDomain;
    private boolean cookieSecure;
    private boolean cookieHttpOnly = true;
    private String cookieSameSite = "lax";
    private boolean cookiePersistent = true;
    private boolean cookieEncryption = true;
    private Duration expiry = Duration.ofSeconds(86400);
    private Duration absoluteExpiry;
    private Duration anonymousExpiry;
    private boolean rolling;
    private boolean lazySession = true;
    private String cacheControl = "auto";
    private String sessionIdTransport = "cookie";
    private String sessionIdHeader = "X-Auth-Token";
    private Duration backendTimeout = Duration.ofSeconds(10);
    private int maxSessionsPerUser;
    private UserLimitPolicy userLimitPolicy = UserLimitPolicy.END_OLDEST;
    private String eventsAddress;
    private boolean recordClientInfo;
    private boolean nearCache;
    private long nearCacheMaxEntries = 10_000;
    private long nearCacheMaxBytes = 64L << 20;
    private Duration nearCacheMaxLag = Duration.ofSeconds(1);
    private String managerName = "signed";
    private SessionBackendFactory backend;
    private JsonObject backendOptions = new JsonObject();
    private Clock clock = Clock.systemUTC();
    private boolean frozen;

    /** Creates options with the defaults of the seed guide's table. */
    public SessionConfig() {}

    /** Creates a copy of {@code other}, which can be changed even when {@code other} cannot. */
    public SessionConfig(SessionConfig other) {
        secretKey = other.secretKey;
        fallbackSecretKeys = other.fallbackSecretKeys;
        cookieName = other.cookieName;
        cookiePath = other.cookiePath;
        cookieDomain = other.cookieDomain;
        cookieSecure = other.cookieSecure;
        cookieHttpOnly = other.cookieHttpOnly;
        cookieSameSite = other.cookieSameSite;
        cookiePersistent = other.cookiePersistent;
        cookieEncryption = other.cookieEncryption;
        expiry = other.expiry;
        absoluteExpiry = other.absoluteExpiry;
        anonymousExpiry = other.anonymousExpiry;
        rolling = other.rolling;
        lazySession = other.lazySession;
        cacheControl = other.cacheControl;
        sessionIdTransport = other.sessionIdTransport;
        sessionIdHeader = other.sessionIdHeader;
        backendTimeout = other.backendTimeout;
        maxSessionsPerUser = other.maxSessionsPerUser;
        userLimitPolicy = other.userLimitPolicy;
        eventsAddress = other.eventsAddress;
        recordClientInfo = other.recordClientInfo;
        nearCache = other.nearCache;
        nearCacheMaxEntries = other.nearCacheMaxEntries;
        nearCacheMaxBytes = other.nearCacheMaxBytes;
        nearCacheMaxLag = other.nearCacheMaxLag;
        managerName = other.managerName;
        backend = other.backend;
        backendOptions = other.backendOptions.copy();
        clock = other.clock;
    }

    /**
     * Creates options from JSON with the seed guide's keys. Each key is also accepted in the camelCase form of
     * Vert.x options ({@code sessionCookieName} or {@code cookieName}, {@code redisUrl}, {@code backendTimeoutMs})
     * and in the upper case of environment variables ({@code SECRET_KEY}), never two forms of one key. Throws
     * {@link IllegalArgumentException} naming the key for an unknown key (one that neither the core nor any backend
     * on the class path reads), a key given twice, or a value of the wrong type.
     */
    public SessionConfig(JsonObject json) {
        Set<String> backendKeys = BackendProviders.jsonKeys();
        for (String given : json.fieldNames()) {
            String key = snakeCase(given);
            if (!JSON_KEYS.contains(key) && !backendKeys.contains(key)) {
                Set<String> known = new LinkedHashSet<>(JSON_KEYS);
                known.addAll(backendKeys);
                throw new IllegalArgumentException("unknown session config key '" + given + "'" + suggestion(key, known)
                        + "; known keys are " + String.join(", ", known));
            }
        }
        json = canonicalKeys(json);
        for (String key : json.fieldNames()) {
            if (!JSON_KEYS.contains(key)) {
                backendOptions.put(key, json.getValue(key));
            }
        }
        if (json.containsKey("secret_key")) setSecretKey(string(json, "secret_key"));
        if (json.containsKey("fallback_secret_keys")) setFallbackSecretKeys(stringList(json, "fallback_secret_keys"));
        if (json.containsKey("session_cookie_name")) setCookieName(string(json, "session_cookie_name"));
        if (json.containsKey("cookie_path")) setCookiePath(string(json, "cookie_path"));
        if (json.containsKey("cookie_domain")) setCookieDomain(string(json, "cookie_domain"));
        if (json.containsKey("cookie_secure")) setCookieSecure(bool(json, "cookie_secure"));
        if (json.containsKey("cookie_httponly")) setCookieHttpOnly(bool(json, "cookie_httponly"));
        if (json.containsKey("cookie_samesite")) setCookieSameSite(string(json, "cookie_samesite"));
        if (json.containsKey("cookie_persistent")) setCookiePersistent(bool(json, "cookie_persistent"));
        if (json.containsKey("cookie_encryption")) setCookieEncryption(bool(json, "cookie_encryption"));
        if (json.containsKey("expiry")) setExpiry(Duration.ofSeconds(integer(json, "expiry")));
        if (json.containsKey("absolute_expiry")) {
            Long seconds = nullableInteger(json, "absolute_expiry");
            setAbsoluteExpiry(seconds == null ? null : Duration.ofSeconds(seconds));
        }
        if (json.containsKey("anonymous_expiry")) {
            Long seconds = nullableInteger(json, "anonymous_expiry");
            setAnonymousExpiry(seconds == null ? null : Duration.ofSeconds(seconds));
        }
        if (json.containsKey("rolling")) setRolling(bool(json, "rolling"));
        if (json.containsKey("lazy_session")) setLazySession(bool(json, "lazy_session"));
        if (json.containsKey("cache_control")) setCacheControl(string(json, "cache_control"));
        if (json.containsKey("session_id_transport")) {
            setSessionIdTransport(string(json, "session_id_transport"));
        }
        if (json.containsKey("session_id_header")) setSessionIdHeader(string(json, "session_id_header"));
        if (json.containsKey("backend_timeout_ms")) {
            setBackendTimeout(Duration.ofMillis(integer(json, "backend_timeout_ms")));
        }
        if (json.containsKey("max_sessions_per_user")) {
            Long max = nullableInteger(json, "max_sessions_per_user");
            setMaxSessionsPerUser(max == null ? 0 : (int) Math.min(Integer.MAX_VALUE, Math.max(-1, max)));
        }
        if (json.containsKey("max_sessions_per_user_policy")) {
            setUserLimitPolicy(UserLimitPolicy.of(string(json, "max_sessions_per_user_policy")));
        }
        if (json.containsKey("events_address")) setEventsAddress(string(json, "events_address"));
        if (json.containsKey("record_client_info")) setRecordClientInfo(bool(json, "record_client_info"));
        if (json.containsKey("near_cache")) setNearCache(bool(json, "near_cache"));
        if (json.containsKey("near_cache_max_entries")) {
            setNearCacheMaxEntries(integer(json, "near_cache_max_entries"));
        }
        if (json.containsKey("near_cache_max_bytes")) setNearCacheMaxBytes(integer(json, "near_cache_max_bytes"));
        if (json.containsKey("near_cache_max_lag_ms")) {
            setNearCacheMaxLag(Duration.ofMillis(integer(json, "near_cache_max_lag_ms")));
        }
        if (json.containsKey("manager")) setManager(string(json, "manager"));
    }

    /** Vert.x's names for three cookie settings whose snake_case keys the seed guide spells differently. */
    private static final Map<String, String> VERTX_NAMES = Map.of(
            "cookieName", "session_cookie_name",
            "cookieHttpOnly", "cookie_httponly",
            "cookieSameSite", "cookie_samesite");

    /** Returns {@code json} with every key in its snake_case form; two forms of one key are refused. */
    private static JsonObject canonicalKeys(JsonObject json) {
        JsonObject canonical = new JsonObject();
        Map<String, String> given = new HashMap<>();
        for (String key : json.fieldNames()) {
            String snake = snakeCase(key);
            String earlier = given.putIfAbsent(snake, key);
            if (earlier != null) {
                throw new IllegalArgumentException("session config key '" + snake + "' is given twice, as '" + earlier
                        + "' and as '" + key + "'; keep one");
            }
            canonical.put(snake, json.getValue(key));
        }
        return canonical;
    }

    /** {@code redisUrl} and {@code REDIS_URL} give {@code redis_url}; snake_case keys are kept as they are. */
    static String snakeCase(String key) {
        if (VERTX_NAMES.containsKey(key)) {
            return VERTX_NAMES.get(key);
        }
        if (key.equals(key.toUpperCase(Locale.ROOT))) {
            return key.toLowerCase(Locale.ROOT);
        }
        StringBuilder snake = new StringBuilder(key.length() + 4);
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (Character.isUpperCase(c)) {
                snake.append('_').append(Character.toLowerCase(c));
            } else {
                snake.append(c);
            }
        }
        return snake.toString();
    }

    /**
     * Returns these options as JSON with the seed guide's keys, backend keys included; the secret keys are left
     * out and a password in a URL such as {@code redis_url} is masked, so the result can be logged. A backend set in
     * code has no JSON form.
     */
    public JsonObject toJson() {
        JsonObject json = new JsonObject()
                .put("session_cookie_name", cookieName)
                .put("cookie_path", cookiePath)
                .put("cookie_domain", cookieDomain)
                .put("cookie_secure", cookieSecure)
                .put("cookie_httponly", cookieHttpOnly)
                .put("cookie_samesite", cookieSameSite)
                .put("cookie_persistent", cookiePersistent)
                .put("cookie_encryption", cookieEncryption)
                .put("expiry", expiry.toSeconds())
                .put("absolute_expiry", absoluteExpiry == null ? null : absoluteExpiry.toSeconds())
                .put("anonymous_expiry", anonymousExpiry == null ? null : anonymousExpiry.toSeconds())
                .put("rolling", rolling)
                .put("lazy_session", lazySession)
                .put("cache_control", cacheControl)
                .put("session_id_transport", sessionIdTransport)
                .put("session_id_header", sessionIdHeader)
                .put("backend_timeout_ms", backendTimeout.toMillis())
                .put("max_sessions_per_user", maxSessionsPerUser == 0 ? null : maxSessionsPerUser)
                .put("max_sessions_per_user_policy", userLimitPolicy.jsonValue())
                .put("events_address", eventsAddress)
                .put("record_client_info", recordClientInfo)
                .put("near_cache", nearCache)
                .put("near_cache_max_entries", nearCacheMaxEntries)
                .put("near_cache_max_bytes", nearCacheMaxBytes)
                .put("near_cache_max_lag_ms", nearCacheMaxLag.toMillis());
        if (backend == null) {
            json.put("manager", managerName);
        }
        for (String key : backendOptions.fieldNames()) {
            Object value = backendOptions.getValue(key);
            json.put(key, value instanceof String string ? OptionsReader.withoutPassword(string) : value);
        }
        return json;
    }

    /**
     * Checks the options as a whole and throws {@link IllegalArgumentException} naming the key and the fix.
     * {@link SessionMiddleware#create} calls it; call it yourself to fail earlier.
     */
    public SessionConfig validate() {
        boolean signed = backend == null && "signed".equals(managerName);
        if (signed && (secretKey == null || secretKey.isEmpty())) {
            throw new IllegalArgumentException(
                    "secret_key is required by the signed-cookie backend: set it to at least " + MIN_SECRET_BYTES
                            + " random bytes, e.g. the output of `openssl rand -hex 32`, read from the environment");
        }
        if ("none".equals(cookieSameSite) && !cookieSecure) {
            throw new IllegalArgumentException("cookie_samesite 'none' requires cookie_secure true (browsers reject "
                    + "SameSite=None cookies without Secure); set cookie_secure to true or cookie_samesite to lax");
        }
        if (absoluteExpiry != null && absoluteExpiry.compareTo(expiry) < 0) {
            throw new IllegalArgumentException("absolute_expiry (" + absoluteExpiry.toSeconds()
                    + " s) must not be shorter than expiry (" + expiry.toSeconds() + " s)");
        }
        if (anonymousExpiry != null && anonymousExpiry.compareTo(expiry) > 0) {
            throw new IllegalArgumentException("anonymous_expiry (" + anonymousExpiry.toSeconds()
                    + " s) must not be longer than expiry (" + expiry.toSeconds() + " s): shorten it, or leave it "
                    + "unset so that anonymous sessions live as long as the others");
        }
        return this;
    }

    /** Returns a validated copy that can no longer change: what a running middleware uses. */
    SessionConfig frozenCopy() {
        SessionConfig copy = new SessionConfig(this).validate();
        copy.frozen = true;
        return copy;
    }

    private void checkMutable() {
        if (frozen) {
            throw new IllegalStateException(
                    "this configuration belongs to a running SessionMiddleware and cannot change; "
                            + "change a copy (new SessionConfig(config)) and create a new middleware");
        }
    }

    /** Returns the secret key that signs cookies, or {@code null}. */
    public String getSecretKey() {
        return secretKey;
    }

    /**
     * Sets the secret that signs new cookies (JSON {@code secret_key}). At least 32 bytes; required by the
     * signed-cookie backend. No default.
     */
    public SessionConfig setSecretKey(String secretKey) {
        checkMutable();
        this.secretKey = checkSecret("secret_key", secretKey);
        return this;
    }

    /** Returns the older secrets that still verify cookies. */
    public List<String> getFallbackSecretKeys() {
        return fallbackSecretKeys;
    }

    /**
     * Sets older secrets that still verify cookies during a key rotation (JSON {@code fallback_secret_keys});
     * a cookie verified with one of them is re-issued under {@code secret_key}. Defaults to none.
     */
    public SessionConfig setFallbackSecretKeys(List<String> fallbackSecretKeys) {
        checkMutable();
        List<String> keys = new ArrayList<>();
        for (String key : Objects.requireNonNull(fallbackSecretKeys, "fallback_secret_keys")) {
            keys.add(Objects.requireNonNull(
                    checkSecret("fallback_secret_keys", key), "fallback_secret_keys must not contain null"));
        }
        this.fallbackSecretKeys = List.copyOf(keys);
        return this;
    }

    /** Returns the cookie name. */
    public String getCookieName() {
        return cookieName;
    }

    /** Sets the name of the session cookie (JSON {@code session_cookie_name}). Defaults to {@code session_id}. */
    public SessionConfig setCookieName(String cookieName) {
        checkMutable();
        if (cookieName == null || !COOKIE_NAME.matcher(cookieName).matches()) {
            throw new IllegalArgumentException("session_cookie_name must be a non-empty cookie token (letters, digits, "
                    + "and !#$%&'*+.^_`|~-), got " + quote(cookieName));
        }
        this.cookieName = cookieName;
        return this;
    }

    /** Returns the cookie path. */
    public String getCookiePath() {
        return cookiePath;
    }

    /** Sets the path the cookie is valid for (JSON {@code cookie_path}). Defaults to {@code /}. */
    public SessionConfig setCookiePath(String cookiePath) {
        checkMutable();
        if (cookiePath == null || !cookiePath.startsWith("/") || cookiePath.matches(".*[;\\s,].*")) {
            throw new IllegalArgumentException(
                    "cookie_path must start with '/' and contain no ';', ',' or space, got " + quote(cookiePath));
        }
        this.cookiePath = cookiePath;
        return this;
    }

    /** Returns the cookie domain, or {@code null} for a host-only cookie. */
    public String getCookieDomain() {
        return cookieDomain;
    }

    /** Sets the domain the cookie is valid for (JSON {@code cookie_domain}). Defaults to none (host-only). */
    public SessionConfig setCookieDomain(String cookieDomain) {
        checkMutable();
        if (cookieDomain != null && (cookieDomain.isEmpty() || cookieDomain.matches(".*[;\\s,].*"))) {
            throw new IllegalArgumentException("cookie_domain must be a host name or null, got " + quote(cookieDomain));
        }
        this.cookieDomain = cookieDomain;
        return this;
    }

    /** Returns whether the cookie is sent over HTTPS only. */
    public boolean isCookieSecure() {
        return cookieSecure;
    }

    /** Sets whether the cookie is sent over HTTPS only (JSON {@code cookie_secure}). Defaults to false. */
    public SessionConfig setCookieSecure(boolean cookieSecure) {
        checkMutable();
        this.cookieSecure = cookieSecure;
        return this;
    }

    /** Returns whether the cookie is hidden from JavaScript. */
    public boolean isCookieHttpOnly() {
        return cookieHttpOnly;
    }

    /** Sets whether the cookie is hidden from JavaScript (JSON {@code cookie_httponly}). Defaults to true. */
    public SessionConfig setCookieHttpOnly(boolean cookieHttpOnly) {
        checkMutable();
        this.cookieHttpOnly = cookieHttpOnly;
        return this;
    }

    /** Returns the SameSite attribute: {@code lax}, {@code strict} or {@code none}. */
    public String getCookieSameSite() {
        return cookieSameSite;
    }

    /** Returns the SameSite attribute as Vert.x's enum. */
    public CookieSameSite cookieSameSite() {
        return switch (cookieSameSite) {
            case "strict" -> CookieSameSite.STRICT;
            case "none" -> CookieSameSite.NONE;
            default -> CookieSameSite.LAX;
        };
    }

    /**
     * Sets the SameSite attribute (JSON {@code cookie_samesite}): {@code lax}, {@code strict} or {@code none}
     * (case-insensitive; {@code none} requires {@code cookie_secure}). Defaults to {@code lax}.
     */
    public SessionConfig setCookieSameSite(String cookieSameSite) {
        checkMutable();
        String value = cookieSameSite == null ? null : cookieSameSite.toLowerCase(Locale.ROOT);
        if (!"lax".equals(value) && !"strict".equals(value) && !"none".equals(value)) {
            throw new IllegalArgumentException(
                    "cookie_samesite must be lax, strict or none (got " + quote(cookieSameSite) + ")");
        }
        this.cookieSameSite = value;
        return this;
    }

    /** Returns whether signed cookies are also encrypted. */
    public boolean isCookieEncryption() {
        return cookieEncryption;
    }

    /**
     * Sets whether the signed-cookie backend also encrypts its cookies with AES-256-GCM, so clients cannot read the
     * session's contents (JSON {@code cookie_encryption}). Keys derive from {@code secret_key} and rotate with
     * {@code fallback_secret_keys}. Cookies of the other mode are not accepted. Defaults to true; false gives the
     * Nexios guide's readable signed cookies.
     */
    public SessionConfig setCookieEncryption(boolean cookieEncryption) {
        checkMutable();
        this.cookieEncryption = cookieEncryption;
        return this;
    }

    /** Returns how long a session lives after its last save. */
    public Duration getExpiry() {
        return expiry;
    }

    /**
     * Sets how long a session lives after its last save (JSON {@code expiry}, in seconds). It bounds the cookie
     * (Max-Age and Expires) and is enforced on the server. Defaults to 86400 s (24 hours).
     */
    public SessionConfig setExpiry(Duration expiry) {
        checkMutable();
        if (expiry == null || expiry.isNegative() || expiry.isZero() || expiry.toSeconds() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("expiry must be a positive number of seconds, got "
                    + (expiry == null ? "null" : expiry.toSeconds()));
        }
        this.expiry = expiry;
        return this;
    }

    /** Returns the absolute lifetime of a session since its creation, or {@code null} for none. */
    public Duration getAbsoluteExpiry() {
        return absoluteExpiry;
    }

    /**
     * Sets the absolute lifetime of a session since its creation, whatever its activity (JSON
     * {@code absolute_expiry}, in seconds, or null). Defaults to none.
     */
    public SessionConfig setAbsoluteExpiry(Duration absoluteExpiry) {
        checkMutable();
        if (absoluteExpiry != null && (absoluteExpiry.isNegative() || absoluteExpiry.isZero())) {
            throw new IllegalArgumentException(
                    "absolute_expiry must be a positive number of seconds or null, got " + absoluteExpiry.toSeconds());
        }
        this.absoluteExpiry = absoluteExpiry;
        return this;
    }

    /** Returns how long a session that was never promoted lives after its last save, or null for {@code expiry}. */
    public Duration getAnonymousExpiry() {
        return anonymousExpiry;
    }

    /**
     * Sets how long an anonymous session lives after its last save (JSON {@code anonymous_expiry}, in seconds, or
     * null): one that neither {@code regenerate()} nor a login (a Vert.x-Web user in the session) has promoted. A
     * flood of requests without a cookie then fills the store only for this long, and backends that bound their size
     * evict anonymous sessions first. {@code setExpiry} on a session overrides it. Defaults to null: anonymous
     * sessions live {@code expiry}, as the others.
     */
    public SessionConfig setAnonymousExpiry(Duration anonymousExpiry) {
        checkMutable();
        if (anonymousExpiry != null
                && (anonymousExpiry.isNegative()
                        || anonymousExpiry.isZero()
                        || anonymousExpiry.toSeconds() > Integer.MAX_VALUE)) {
            throw new IllegalArgumentException("anonymous_expiry must be a positive number of seconds or null, got "
                    + anonymousExpiry.toSeconds());
        }
        this.anonymousExpiry = anonymousExpiry;
        return this;
    }

    /** Returns whether every request that has a session renews its expiry. */
    public boolean isRolling() {
        return rolling;
    }

    /**
     * Sets whether every request that has a session renews its expiry, even when it only reads (JSON
     * {@code rolling}). Defaults to false: only requests that change the session renew it.
     */
    public SessionConfig setRolling(boolean rolling) {
        checkMutable();
        this.rolling = rolling;
        return this;
    }

    /** Returns whether the cookie is persistent (Max-Age and Expires) rather than a browser-session cookie. */
    public boolean isCookiePersistent() {
        return cookiePersistent;
    }

    /**
     * Sets whether the cookie is persistent, with Max-Age and Expires set to the session's expiry, or a
     * browser-session cookie that the browser forgets when it closes, as Vert.x-Web's default (JSON
     * {@code cookie_persistent}). Either way the server enforces {@code expiry}; one session can choose with
     * {@link BaseSessionInterface#setRememberMe(boolean)}. Defaults to true.
     */
    public SessionConfig setCookiePersistent(boolean cookiePersistent) {
        checkMutable();
        this.cookiePersistent = cookiePersistent;
        return this;
    }

    /** Returns whether a session is stored (and gets its cookie) only once it holds data. */
    public boolean isLazySession() {
        return lazySession;
    }

    /**
     * Sets whether a session is stored, and gets its cookie, only once a request puts data in it (JSON
     * {@code lazy_session}). False stores every new session and sends its cookie with the first response, as
     * Vert.x-Web's {@code SessionHandler} does by default. Defaults to true: anonymous visitors cost nothing.
     */
    public SessionConfig setLazySession(boolean lazySession) {
        checkMutable();
        this.lazySession = lazySession;
        return this;
    }

    /** Returns the {@code Cache-Control} directive for responses of requests that use a session. */
    public String getCacheControl() {
        return cacheControl;
    }

    /**
     * Sets how responses that carry session data are kept out of caches (JSON {@code cache_control}), for every
     * response that sets the session cookie or belongs to a request that had a session, unless the route set
     * {@code Cache-Control} itself: {@code auto} adds {@code no-store} while the session is logged in (a Vert.x-Web
     * user, or promoted by {@code regenerate()}), so that no cache, the browser's back-forward cache included, keeps
     * a private page after a logout, and {@code private} otherwise, so that shared caches never keep a page with
     * someone's session in it; {@code private} or {@code no-store} adds that directive to every such response;
     * {@code off} adds nothing. Defaults to {@code auto}.
     */
    public SessionConfig setCacheControl(String cacheControl) {
        checkMutable();
        String value = cacheControl == null ? null : cacheControl.toLowerCase(Locale.ROOT);
        if (!"auto".equals(value) && !"private".equals(value) && !"no-store".equals(value) && !"off".equals(value)) {
            throw new IllegalArgumentException(
                    "cache_control must be auto, private, no-store or off (got " + quote(cacheControl) + ")");
        }
        this.cacheControl = value;
        return this;
    }

    /** Returns where the session's ID (or signed cookie value) travels: {@code cookie}, {@code header} or both. */
    public String getSessionIdTransport() {
        return sessionIdTransport;
    }

    /**
     * Sets where the session's ID travels (JSON {@code session_id_transport}): {@code cookie} (the default), {@code
     * header} (read from and returned in {@code session_id_header}, for API and mobile clients; no cookie is set) or
     * {@code both} (the header first, then the cookie; both are returned). The guarantees are the same: a client never
     * chooses its ID, regenerate gives a new one, a logout answers an empty header.
     */
    public SessionConfig setSessionIdTransport(String transport) {
        checkMutable();
        String value = transport == null ? null : transport.toLowerCase(Locale.ROOT);
        if (!"cookie".equals(value) && !"header".equals(value) && !"both".equals(value)) {
            throw new IllegalArgumentException(
                    "session_id_transport must be cookie, header or both (got " + quote(transport) + ")");
        }
        this.sessionIdTransport = value;
        return this;
    }

    /** Returns the header that carries the session's ID when {@code session_id_transport} is header or both. */
    public String getSessionIdHeader() {
        return sessionIdHeader;
    }

    /** Sets the header that carries the session's ID (JSON {@code session_id_header}). Defaults to X-Auth-Token. */
    public SessionConfig setSessionIdHeader(String header) {
        checkMutable();
        if (header == null || !COOKIE_NAME.matcher(header).matches()) {
            throw new IllegalArgumentException(
                    "session_id_header must be an HTTP header name such as X-Auth-Token (got " + quote(header) + ")");
        }
        this.sessionIdHeader = header;
        return this;
    }

    /** What happens when a login would give a user more than {@code max_sessions_per_user} sessions. */
    public enum UserLimitPolicy {
        /** The user's session that expires first (the least recently used) ends, in the same atomic write. */
        END_OLDEST,
        /** The login's save fails with {@link SessionLimitException} (a 429 unless the route answers itself). */
        REFUSE;

        /** Returns the JSON form: {@code end_oldest} or {@code refuse}. */
        public String jsonValue() {
            return name().toLowerCase(Locale.ROOT);
        }

        static UserLimitPolicy of(String value) {
            String lower = value == null ? "" : value.toLowerCase(Locale.ROOT);
            for (UserLimitPolicy policy : values()) {
                if (policy.jsonValue().equals(lower)) {
                    return policy;
                }
            }
            throw new IllegalArgumentException(
                    "max_sessions_per_user_policy must be end_oldest or refuse (got " + quote(value) + ")");
        }
    }

    /** Returns the event-bus address session events are published to, or null for none. */
    public String getEventsAddress() {
        return eventsAddress;
    }

    /**
     * Publishes every {@link SessionEvent} as JSON ({@link SessionEvent#toJson()}) to this event-bus address (JSON
     * {@code events_address}), so that a clustered application hears every node's events; null (the default)
     * publishes nothing. The events hold session IDs: on a cluster, encrypt the event bus.
     */
    public SessionConfig setEventsAddress(String address) {
        checkMutable();
        if (address != null && address.isBlank()) {
            throw new IllegalArgumentException("events_address must be an event-bus address such as "
                    + "\"sessions.events\", or null to publish nothing (got an empty value)");
        }
        this.eventsAddress = address;
        return this;
    }

    /** Returns whether sessions keep their last access and the client they logged in from. */
    public boolean isRecordClientInfo() {
        return recordClientInfo;
    }

    /**
     * Keeps, in every server-side session, the time of its last save (its last access: every request's with
     * {@code rolling}, else the last request that changed it) and, at login (when the session gets a principal),
     * the request's {@code User-Agent} (its first 256 characters) and remote address, so that
     * {@link SessionAdmin#sessionsOf} and {@link SessionAdmin#get} can show a user's devices (JSON
     * {@code record_client_info}). Defaults to false: personal data is kept only when asked for. Behind a proxy, let
     * the router trust its headers ({@code router.allowForward(...)}) so the address is the client's. Signed cookies
     * keep nothing of it (nothing lists them).
     */
    public SessionConfig setRecordClientInfo(boolean record) {
        checkMutable();
        this.recordClientInfo = record;
        return this;
    }

    /** Returns whether the near cache is on. */
    public boolean isNearCache() {
        return nearCache;
    }

    /**
     * Keeps recently used sessions in this process (JSON {@code near_cache}), so that a request that only reads its
     * session costs no store round trip when the cached copy is provably current: the cookie then carries the
     * session's version ({@code <id>.<version>}, changed by every save), and the store tells every process of every
     * write (README, "Near cache"). Needs a backend that can tell (Redis, files on a local directory, or one whose
     * {@link SessionBackend#invalidations()} answers; with Redis every process sharing it must turn it on) and {@code com.github.ben-manes.caffeine:caffeine} on the class path; the middleware refuses to start
     * otherwise. Defaults to false.
     */
    public SessionConfig setNearCache(boolean nearCache) {
        checkMutable();
        this.nearCache = nearCache;
        return this;
    }

    /** Returns how many sessions the near cache holds at most. */
    public long getNearCacheMaxEntries() {
        return nearCacheMaxEntries;
    }

    /** Sets how many sessions the near cache holds at most (JSON {@code near_cache_max_entries}). Defaults to 10000. */
    public SessionConfig setNearCacheMaxEntries(long maxEntries) {
        checkMutable();
        if (maxEntries < 1) {
            throw new IllegalArgumentException("near_cache_max_entries must be at least 1 (got " + maxEntries + ")");
        }
        this.nearCacheMaxEntries = maxEntries;
        return this;
    }

    /** Returns how many bytes of session data the near cache holds at most. */
    public long getNearCacheMaxBytes() {
        return nearCacheMaxBytes;
    }

    /**
     * Sets how many bytes of heap the near cache's entries take at most (JSON {@code near_cache_max_bytes}), as
     * estimated per entry: its ID, keys and values and a fixed overhead per entry and per value (the cache's node, the
     * entry, its map), measured on a 64-bit JVM with compressed references. Each entry counts at least
     * {@code near_cache_max_bytes / near_cache_max_entries} (rounded up), so that both bounds hold. Defaults to 64 MiB.
     */
    public SessionConfig setNearCacheMaxBytes(long maxBytes) {
        checkMutable();
        if (maxBytes < 1024) {
            throw new IllegalArgumentException("near_cache_max_bytes must be at least 1024 (got " + maxBytes + ")");
        }
        this.nearCacheMaxBytes = maxBytes;
        return this;
    }

    /** Returns how far the near cache may lag behind writes of other processes before it is bypassed. */
    public Duration getNearCacheMaxLag() {
        return nearCacheMaxLag;
    }

    /**
     * Sets the near cache's staleness window (JSON {@code near_cache_max_lag_ms}): a cached session is served only
     * while the invalidation channel has proved, within this time, that it delivers every write the store applied;
     * otherwise the cache is cleared and bypassed until it proves it again. A write of another process is therefore
     * seen at most this late; a browser's own writes are seen at once. Defaults to 1000 ms.
     */
    public SessionConfig setNearCacheMaxLag(Duration maxLag) {
        checkMutable();
        if (maxLag == null || maxLag.toMillis() < 10) {
            throw new IllegalArgumentException("near_cache_max_lag_ms must be at least 10 milliseconds");
        }
        this.nearCacheMaxLag = maxLag;
        return this;
    }

    /** Returns how many sessions one user (principal) may hold at once, or 0 for no limit. */
    public int getMaxSessionsPerUser() {
        return maxSessionsPerUser;
    }

    /**
     * Sets how many sessions one user (the session's principal: {@link BaseSessionInterface#getPrincipal()}) may
     * hold at once (JSON {@code max_sessions_per_user}; null or 0 for no limit). A login past it ends the user's
     * oldest session or is refused, as {@link #setUserLimitPolicy} says, atomically in the store; the backend must
     * have {@link SessionBackend.Capability#USER_INDEX} (memory, files, Redis), else the middleware refuses to start.
     * Defaults to 0: no limit.
     */
    public SessionConfig setMaxSessionsPerUser(int maxSessionsPerUser) {
        checkMutable();
        if (maxSessionsPerUser < 0) {
            throw new IllegalArgumentException("max_sessions_per_user must be a positive number, or 0 or null for no "
                    + "limit (got " + maxSessionsPerUser + ")");
        }
        this.maxSessionsPerUser = maxSessionsPerUser;
        return this;
    }

    /** Returns what happens when a login would exceed {@code max_sessions_per_user}. */
    public UserLimitPolicy getUserLimitPolicy() {
        return userLimitPolicy;
    }

    /**
     * Sets what happens when a login would exceed {@code max_sessions_per_user} (JSON
     * {@code max_sessions_per_user_policy}: {@code end_oldest} or {@code refuse}). Defaults to
     * {@link UserLimitPolicy#END_OLDEST}.
     */
    public SessionConfig setUserLimitPolicy(UserLimitPolicy policy) {
        checkMutable();
        this.userLimitPolicy = Objects.requireNonNull(policy, "max_sessions_per_user_policy");
        return this;
    }

    /** Returns how long one backend call may take before the request gets a 503. */
    public Duration getBackendTimeout() {
        return backendTimeout;
    }

    /**
     * Sets how long one call of the middleware to the backend (load, save, delete, update) may take before the
     * request gets a 503 and its slot in the write backpressure is released (JSON {@code backend_timeout_ms}). A
     * backend with a timeout of its own (Redis: {@code redis_timeout_ms}) answers sooner. Defaults to 10000 ms.
     */
    public SessionConfig setBackendTimeout(Duration backendTimeout) {
        checkMutable();
        if (backendTimeout == null || backendTimeout.isNegative() || backendTimeout.isZero()) {
            throw new IllegalArgumentException("backend_timeout_ms must be a positive number of milliseconds");
        }
        this.backendTimeout = backendTimeout;
        return this;
    }

    /** Returns the backend chosen by name (JSON {@code manager}), or null when one was set in code. */
    public String getManagerName() {
        return backend == null ? managerName : null;
    }

    /** Returns the backend factory set in code, or null when the backend is chosen by name. */
    public SessionBackendFactory getBackend() {
        return backend;
    }

    /**
     * Chooses the backend in code, e.g. {@code FileSessionInterface.factory(new FileSessionOptions())}. Defaults
     * to signed cookies.
     */
    public SessionConfig setBackend(SessionBackendFactory backend) {
        checkMutable();
        this.backend = Objects.requireNonNull(backend, "backend");
        return this;
    }

    /**
     * Chooses a backend written the seed's way, by extending {@link BaseSessionInterface}: the Java form of the
     * seed's {@code "manager": MySessionInterface}, e.g. {@code setManager(SessionManagerFactory.of(MySession::new))}.
     */
    public SessionConfig setManager(SessionManagerFactory manager) {
        Objects.requireNonNull(manager, "manager");
        return setBackend((vertx, config) -> new SeedSessionBackend(vertx, config, manager.create(vertx, config)));
    }

    /**
     * Chooses the backend by name (JSON {@code manager}): {@code signed}, {@code file}, {@code redis},
     * {@code memory}, the name of any {@link SessionBackendProvider} on the class path, or the class name of a
     * {@link SessionBackendFactory}, a {@link SessionManagerFactory} or a {@link BaseSessionInterface} with a public
     * no-argument constructor. Defaults to {@code signed}.
     */
    public SessionConfig setManager(String manager) {
        checkMutable();
        if (manager == null || manager.isEmpty()) {
            throw new IllegalArgumentException(
                    "manager must be signed, file, redis, memory or a class name, got " + quote(manager));
        }
        this.managerName = manager;
        this.backend = null;
        return this;
    }

    /**
     * Returns the backend keys given in JSON ({@code directory}, {@code redis_url}, a custom backend's object, ...),
     * as they were given; the chosen backend reads and validates them at start-up.
     */
    public JsonObject getBackendOptions() {
        return backendOptions.copy();
    }

    /**
     * Sets one backend key, as the JSON constructor does, e.g. {@code setBackendOption("directory", "/var/sessions")}.
     * Throws {@link IllegalArgumentException} for a key that no backend on the class path reads.
     */
    public SessionConfig setBackendOption(String key, Object value) {
        checkMutable();
        if (!BackendProviders.jsonKeys().contains(key)) {
            throw new IllegalArgumentException("unknown backend option '" + key + "'"
                    + suggestion(key, BackendProviders.jsonKeys()) + "; backends on the class path read "
                    + String.join(", ", BackendProviders.jsonKeys()));
        }
        backendOptions.put(key, value);
        return this;
    }

    /** Returns the clock that expiry is measured with. */
    public Clock getClock() {
        return clock;
    }

    /** Sets the clock that expiry is measured with; tests move it instead of sleeping. Defaults to UTC system time. */
    public SessionConfig setClock(Clock clock) {
        checkMutable();
        this.clock = Objects.requireNonNull(clock, "clock");
        return this;
    }

    private static String checkSecret(String key, String secret) {
        if (secret != null && secret.getBytes(StandardCharsets.UTF_8).length < MIN_SECRET_BYTES) {
            // Never echo the secret itself.
            throw new IllegalArgumentException(key + " must be at least " + MIN_SECRET_BYTES + " bytes, got "
                    + secret.getBytes(StandardCharsets.UTF_8).length + "; generate one with `openssl rand -hex 32`");
        }
        return secret;
    }

    private static String string(JsonObject json, String key) {
        return OptionsReader.string(json, key, key);
    }

    private static boolean bool(JsonObject json, String key) {
        return OptionsReader.bool(json, key, key);
    }

    private static long integer(JsonObject json, String key) {
        return OptionsReader.integer(json, key, key);
    }

    private static Long nullableInteger(JsonObject json, String key) {
        return OptionsReader.nullableInteger(json, key, key);
    }

    private static List<String> stringList(JsonObject json, String key) {
        return OptionsReader.stringList(json, key, key);
    }

    private static String suggestion(String key, Set<String> knownKeys) {
        return OptionsReader.suggestion(key, knownKeys);
    }

    private static String quote(String value) {
        return value == null ? "null" : "'" + value + "'";
    }
}
