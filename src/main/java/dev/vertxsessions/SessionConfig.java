package dev.vertxsessions;

import dev.vertxsessions.file.FileSessionInterface;
import dev.vertxsessions.signedcookies.SignedSessionManager;
import io.vertx.core.http.CookieSameSite;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Options of {@link SessionMiddleware}: fluent setters in code, or a {@link JsonObject} with the Nexios keys
 * ({@code secret_key}, {@code session_cookie_name}, {@code cookie_samesite}, {@code expiry}, {@code manager}, ...).
 *
 * <p>Unlike Nexios, an unknown key, a value of the wrong type or an invalid value is refused at start-up with
 * an {@link IllegalArgumentException} naming the key and the fix. The JSON key of each option is in its setter's
 * documentation; {@link #toJson()} writes them back.
 */
public class SessionConfig {

  /** The smallest secret key accepted, in bytes (UTF-8): 256 bits, the size of the HMAC-SHA256 output. */
  public static final int MIN_SECRET_BYTES = 32;

  /** Every JSON key this class reads, in the order of the README's configuration table. */
  public static final Set<String> JSON_KEYS = Collections.unmodifiableSet(new LinkedHashSet<>(List.of(
    "secret_key", "fallback_secret_keys", "session_cookie_name", "cookie_path", "cookie_domain", "cookie_secure",
    "cookie_httponly", "cookie_samesite", "cookie_encryption", "expiry", "absolute_expiry", "rolling", "manager", "directory", "prefix",
    "sweep_interval", "redis_url", "redis_key_prefix", "redis_pool_size", "redis_timeout_ms", "redis_options")));

  private static final Pattern COOKIE_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");

  private String secretKey;
  private List<String> fallbackSecretKeys = List.of();
  private String cookieName = "session_id";
  private String cookiePath = "/";
  private String cookieDomain;
  private boolean cookieSecure;
  private boolean cookieHttpOnly = true;
  private String cookieSameSite = "lax";
  private boolean cookieEncryption;
  private Duration expiry = Duration.ofSeconds(86400);
  private Duration absoluteExpiry;
  private boolean rolling;
  private String managerName = "signed";
  private SessionManagerFactory manager;
  private String directory = "sessions";
  private String prefix = "session_";
  private Duration sweepInterval = Duration.ofMinutes(10);
  private String redisUrl = "redis://127.0.0.1:6379";
  private String redisKeyPrefix = "session:";
  private int redisPoolSize = 16;
  private Duration redisTimeout = Duration.ofSeconds(2);
  private JsonObject redisOptions;
  private Clock clock = Clock.systemUTC();

  /** Creates options with the defaults of the seed guide's table. */
  public SessionConfig() {
  }

  /** Creates a copy of {@code other}. */
  public SessionConfig(SessionConfig other) {
    secretKey = other.secretKey;
    fallbackSecretKeys = other.fallbackSecretKeys;
    cookieName = other.cookieName;
    cookiePath = other.cookiePath;
    cookieDomain = other.cookieDomain;
    cookieSecure = other.cookieSecure;
    cookieHttpOnly = other.cookieHttpOnly;
    cookieSameSite = other.cookieSameSite;
    cookieEncryption = other.cookieEncryption;
    expiry = other.expiry;
    absoluteExpiry = other.absoluteExpiry;
    rolling = other.rolling;
    managerName = other.managerName;
    manager = other.manager;
    directory = other.directory;
    prefix = other.prefix;
    sweepInterval = other.sweepInterval;
    redisUrl = other.redisUrl;
    redisKeyPrefix = other.redisKeyPrefix;
    redisPoolSize = other.redisPoolSize;
    redisTimeout = other.redisTimeout;
    redisOptions = other.redisOptions == null ? null : other.redisOptions.copy();
    clock = other.clock;
  }

  /**
   * Creates options from JSON with the seed guide's keys. Throws {@link IllegalArgumentException} naming the key
   * for an unknown key or a value of the wrong type.
   */
  public SessionConfig(JsonObject json) {
    for (String key : json.fieldNames()) {
      if (!JSON_KEYS.contains(key)) {
        throw new IllegalArgumentException("unknown session config key '" + key + "'" + suggestion(key)
          + "; known keys are " + String.join(", ", JSON_KEYS));
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
    if (json.containsKey("cookie_encryption")) setCookieEncryption(bool(json, "cookie_encryption"));
    if (json.containsKey("expiry")) setExpiry(Duration.ofSeconds(integer(json, "expiry")));
    if (json.containsKey("absolute_expiry")) {
      Long seconds = nullableInteger(json, "absolute_expiry");
      setAbsoluteExpiry(seconds == null ? null : Duration.ofSeconds(seconds));
    }
    if (json.containsKey("rolling")) setRolling(bool(json, "rolling"));
    if (json.containsKey("manager")) setManager(string(json, "manager"));
    if (json.containsKey("directory")) setDirectory(string(json, "directory"));
    if (json.containsKey("prefix")) setPrefix(string(json, "prefix"));
    if (json.containsKey("sweep_interval")) setSweepInterval(Duration.ofSeconds(integer(json, "sweep_interval")));
    if (json.containsKey("redis_url")) setRedisUrl(string(json, "redis_url"));
    if (json.containsKey("redis_key_prefix")) setRedisKeyPrefix(string(json, "redis_key_prefix"));
    if (json.containsKey("redis_pool_size")) setRedisPoolSize((int) integer(json, "redis_pool_size"));
    if (json.containsKey("redis_timeout_ms")) setRedisTimeout(Duration.ofMillis(integer(json, "redis_timeout_ms")));
    if (json.containsKey("redis_options")) {
      Object value = json.getValue("redis_options");
      if (!(value instanceof JsonObject)) {
        throw wrongType("redis_options", "a JSON object of Vert.x RedisOptions", value);
      }
      setRedisOptions((JsonObject) value);
    }
  }

  /**
   * Returns these options as JSON with the seed guide's keys; the secret keys are left out and a password in
   * {@code redis_url} is masked, so the result can be logged. A manager set in code as a factory is left out too.
   */
  public JsonObject toJson() {
    JsonObject json = new JsonObject()
      .put("session_cookie_name", cookieName)
      .put("cookie_path", cookiePath)
      .put("cookie_domain", cookieDomain)
      .put("cookie_secure", cookieSecure)
      .put("cookie_httponly", cookieHttpOnly)
      .put("cookie_samesite", cookieSameSite)
      .put("cookie_encryption", cookieEncryption)
      .put("expiry", expiry.toSeconds())
      .put("absolute_expiry", absoluteExpiry == null ? null : absoluteExpiry.toSeconds())
      .put("rolling", rolling)
      .put("directory", directory)
      .put("prefix", prefix)
      .put("sweep_interval", sweepInterval.toSeconds())
      .put("redis_url", withoutPassword(redisUrl))
      .put("redis_key_prefix", redisKeyPrefix)
      .put("redis_pool_size", redisPoolSize)
      .put("redis_timeout_ms", redisTimeout.toMillis());
    if (manager == null) {
      json.put("manager", managerName); // a factory set in code has no JSON form
    }
    if (redisOptions != null) {
      json.put("redis_options", redisOptions.copy());
    }
    return json;
  }

  /**
   * Checks the options as a whole and throws {@link IllegalArgumentException} naming the key and the fix.
   * {@link SessionMiddleware#create} calls it; call it yourself to fail earlier.
   */
  public SessionConfig validate() {
    boolean signed = manager == null && "signed".equals(managerName);
    if (signed && (secretKey == null || secretKey.isEmpty())) {
      throw new IllegalArgumentException("secret_key is required by the signed-cookie backend: set it to at least "
        + MIN_SECRET_BYTES + " random bytes, e.g. the output of `openssl rand -hex 32`, read from the environment");
    }
    if ("none".equals(cookieSameSite) && !cookieSecure) {
      throw new IllegalArgumentException("cookie_samesite 'none' requires cookie_secure true (browsers reject "
        + "SameSite=None cookies without Secure); set cookie_secure to true or cookie_samesite to lax");
    }
    if (absoluteExpiry != null && absoluteExpiry.compareTo(expiry) < 0) {
      throw new IllegalArgumentException("absolute_expiry (" + absoluteExpiry.toSeconds()
        + " s) must not be shorter than expiry (" + expiry.toSeconds() + " s)");
    }
    return this;
  }

  /** Returns {@code url} with the password of its user information replaced by {@code ***}. */
  private static String withoutPassword(String url) {
    int scheme = url.indexOf("://");
    int at = url.lastIndexOf('@');
    if (scheme < 0 || at < scheme) {
      return url;
    }
    int colon = url.indexOf(':', scheme + 3);
    return colon >= 0 && colon < at ? url.substring(0, colon + 1) + "***" + url.substring(at) : url;
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
    List<String> keys = new ArrayList<>();
    for (String key : Objects.requireNonNull(fallbackSecretKeys, "fallback_secret_keys")) {
      keys.add(Objects.requireNonNull(checkSecret("fallback_secret_keys", key),
        "fallback_secret_keys must not contain null"));
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
    if (cookiePath == null || !cookiePath.startsWith("/") || cookiePath.matches(".*[;\\s,].*")) {
      throw new IllegalArgumentException("cookie_path must start with '/' and contain no ';', ',' or space, got "
        + quote(cookiePath));
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
    this.cookieSecure = cookieSecure;
    return this;
  }

  /** Returns whether the cookie is hidden from JavaScript. */
  public boolean isCookieHttpOnly() {
    return cookieHttpOnly;
  }

  /** Sets whether the cookie is hidden from JavaScript (JSON {@code cookie_httponly}). Defaults to true. */
  public SessionConfig setCookieHttpOnly(boolean cookieHttpOnly) {
    this.cookieHttpOnly = cookieHttpOnly;
    return this;
  }

  /** Returns the SameSite attribute: {@code lax}, {@code strict} or {@code none}. */
  public String getCookieSameSite() {
    return cookieSameSite;
  }

  /** Returns the SameSite attribute as Vert.x's enum. */
  public CookieSameSite cookieSameSite() {
    switch (cookieSameSite) {
      case "strict": return CookieSameSite.STRICT;
      case "none": return CookieSameSite.NONE;
      default: return CookieSameSite.LAX;
    }
  }

  /**
   * Sets the SameSite attribute (JSON {@code cookie_samesite}): {@code lax}, {@code strict} or {@code none}
   * (case-insensitive; {@code none} requires {@code cookie_secure}). Defaults to {@code lax}.
   */
  public SessionConfig setCookieSameSite(String cookieSameSite) {
    String value = cookieSameSite == null ? null : cookieSameSite.toLowerCase(Locale.ROOT);
    if (!"lax".equals(value) && !"strict".equals(value) && !"none".equals(value)) {
      throw new IllegalArgumentException("cookie_samesite must be lax, strict or none (got " + quote(cookieSameSite)
        + ")");
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
   * {@code fallback_secret_keys}. Cookies of the other mode are not accepted. Defaults to false.
   */
  public SessionConfig setCookieEncryption(boolean cookieEncryption) {
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
    if (absoluteExpiry != null && (absoluteExpiry.isNegative() || absoluteExpiry.isZero())) {
      throw new IllegalArgumentException("absolute_expiry must be a positive number of seconds or null, got "
        + absoluteExpiry.toSeconds());
    }
    this.absoluteExpiry = absoluteExpiry;
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
    this.rolling = rolling;
    return this;
  }

  /** Returns the manager chosen by name ({@code signed}, {@code file}, {@code redis} or a class name). */
  public String getManagerName() {
    return manager == null ? managerName : null;
  }

  /** Returns the manager factory set in code, or {@code null} when the manager is chosen by name. */
  public SessionManagerFactory getManager() {
    return manager;
  }

  /**
   * Chooses the backend in code, e.g. {@code FileSessionInterface.factory(Path.of("sessions"), "session_")}.
   * Defaults to signed cookies.
   */
  public SessionConfig setManager(SessionManagerFactory manager) {
    this.manager = Objects.requireNonNull(manager, "manager");
    return this;
  }

  /**
   * Chooses the backend by name (JSON {@code manager}): {@code signed}, {@code file}, {@code redis}, or the class
   * name of a {@link SessionManagerFactory} or a {@link BaseSessionInterface} with a public no-argument
   * constructor. Defaults to {@code signed}.
   */
  public SessionConfig setManager(String manager) {
    if (manager == null || manager.isEmpty()) {
      throw new IllegalArgumentException("manager must be signed, file, redis or a class name, got "
        + quote(manager));
    }
    this.managerName = manager;
    this.manager = null;
    return this;
  }

  /** Returns the directory of the file backend. */
  public String getDirectory() {
    return directory;
  }

  /** Sets the directory of the file backend (JSON {@code directory}). Defaults to {@code sessions}. */
  public SessionConfig setDirectory(String directory) {
    if (directory == null || directory.isEmpty()) {
      throw new IllegalArgumentException("directory must name a folder for session files, got " + quote(directory));
    }
    this.directory = directory;
    return this;
  }

  /** Returns the file name prefix of the file backend. */
  public String getPrefix() {
    return prefix;
  }

  /**
   * Sets the file name prefix of the file backend (JSON {@code prefix}): letters, digits, '_', '-' and '.'.
   * Defaults to {@code session_}.
   */
  public SessionConfig setPrefix(String prefix) {
    if (prefix == null || !prefix.matches("[A-Za-z0-9_.-]{0,64}") || prefix.startsWith(".")) {
      throw new IllegalArgumentException("prefix must be up to 64 letters, digits, '_', '-' or '.', not starting "
        + "with '.', got " + quote(prefix));
    }
    this.prefix = prefix;
    return this;
  }

  /** Returns how often the file backend deletes expired session files. */
  public Duration getSweepInterval() {
    return sweepInterval;
  }

  /**
   * Sets how often the file backend deletes expired session files (JSON {@code sweep_interval}, in seconds;
   * 0 turns the sweeper off). Defaults to 600 s.
   */
  public SessionConfig setSweepInterval(Duration sweepInterval) {
    if (sweepInterval == null || sweepInterval.isNegative()) {
      throw new IllegalArgumentException("sweep_interval must be 0 (off) or a positive number of seconds");
    }
    this.sweepInterval = sweepInterval;
    return this;
  }

  /** Returns the Redis connection string. */
  public String getRedisUrl() {
    return redisUrl;
  }

  /**
   * Sets the Redis connection string (JSON {@code redis_url}), e.g. {@code redis://:password@host:6379/0}.
   * Defaults to {@code redis://127.0.0.1:6379}.
   */
  public SessionConfig setRedisUrl(String redisUrl) {
    if (redisUrl == null || !(redisUrl.startsWith("redis://") || redisUrl.startsWith("rediss://")
      || redisUrl.startsWith("unix://"))) {
      throw new IllegalArgumentException("redis_url must start with redis://, rediss:// or unix://, got "
        + (redisUrl == null ? "null" : "a value of " + redisUrl.length() + " characters"));
    }
    this.redisUrl = redisUrl;
    return this;
  }

  /** Returns the prefix of every Redis key the Redis backend touches. */
  public String getRedisKeyPrefix() {
    return redisKeyPrefix;
  }

  /** Sets the prefix of every Redis key the Redis backend touches (JSON {@code redis_key_prefix}). Defaults to {@code session:}. */
  public SessionConfig setRedisKeyPrefix(String redisKeyPrefix) {
    if (redisKeyPrefix == null || redisKeyPrefix.isEmpty()) {
      throw new IllegalArgumentException("redis_key_prefix must not be empty: the Redis backend only touches keys "
        + "under it");
    }
    this.redisKeyPrefix = redisKeyPrefix;
    return this;
  }

  /** Returns the size of the Redis connection pool. */
  public int getRedisPoolSize() {
    return redisPoolSize;
  }

  /** Sets the size of the Redis connection pool (JSON {@code redis_pool_size}). Defaults to 16. */
  public SessionConfig setRedisPoolSize(int redisPoolSize) {
    if (redisPoolSize < 1) {
      throw new IllegalArgumentException("redis_pool_size must be at least 1, got " + redisPoolSize);
    }
    this.redisPoolSize = redisPoolSize;
    return this;
  }

  /** Returns how long one Redis call may take before the request gets a 503. */
  public Duration getRedisTimeout() {
    return redisTimeout;
  }

  /**
   * Sets how long one Redis call may take before the request gets a 503 (JSON {@code redis_timeout_ms}).
   * Defaults to 2000 ms.
   */
  public SessionConfig setRedisTimeout(Duration redisTimeout) {
    if (redisTimeout == null || redisTimeout.isNegative() || redisTimeout.isZero()) {
      throw new IllegalArgumentException("redis_timeout_ms must be a positive number of milliseconds");
    }
    this.redisTimeout = redisTimeout;
    return this;
  }

  /** Returns extra Vert.x {@code RedisOptions} as JSON, or {@code null}. */
  public JsonObject getRedisOptions() {
    return redisOptions;
  }

  /**
   * Sets Vert.x {@code RedisOptions} as JSON (JSON {@code redis_options}) for Sentinel, Cluster, TLS and the like;
   * {@code redis_pool_size} is applied on top, and so is {@code redis_url} unless these options list
   * {@code endpoints} (Sentinel and Cluster need several). Defaults to none.
   */
  public SessionConfig setRedisOptions(JsonObject redisOptions) {
    this.redisOptions = redisOptions == null ? null : redisOptions.copy();
    return this;
  }

  /** Returns the clock that expiry is measured with. */
  public Clock getClock() {
    return clock;
  }

  /** Sets the clock that expiry is measured with; tests move it instead of sleeping. Defaults to UTC system time. */
  public SessionConfig setClock(Clock clock) {
    this.clock = Objects.requireNonNull(clock, "clock");
    return this;
  }

  /** Resolves the backend factory chosen by {@link #setManager(String)} or {@link #setManager(SessionManagerFactory)}. */
  SessionManagerFactory resolveManager() {
    if (manager != null) {
      return manager;
    }
    switch (managerName) {
      case "signed":
        return SignedSessionManager.factory();
      case "file":
        return FileSessionInterface.factory(Path.of(directory), prefix);
      case "redis":
        return redisFactory();
      default:
        return managerByClassName(managerName);
    }
  }

  private static SessionManagerFactory redisFactory() {
    try {
      Class.forName("io.vertx.redis.client.Redis");
    } catch (ClassNotFoundException | LinkageError e) {
      throw new IllegalArgumentException("manager 'redis' needs io.vertx:vertx-redis-client on the class path "
        + "(it is an optional dependency of vertx-sessions): add it to your build", e);
    }
    try {
      Class<?> redis = Class.forName("dev.vertxsessions.redis.RedisSessionInterface");
      return (SessionManagerFactory) redis.getMethod("factory").invoke(null);
    } catch (ReflectiveOperationException | LinkageError e) {
      throw new IllegalArgumentException("manager 'redis': the Redis backend of vertx-sessions could not be "
        + "loaded (" + e + ")", e);
    }
  }

  private static SessionManagerFactory managerByClassName(String className) {
    Class<?> type;
    try {
      type = Class.forName(className, true, Thread.currentThread().getContextClassLoader());
    } catch (ClassNotFoundException e) {
      throw new IllegalArgumentException("manager must be signed, file, redis or the name of a class on the class "
        + "path; no class '" + className + "' was found", e);
    }
    try {
      if (SessionManagerFactory.class.isAssignableFrom(type)) {
        return (SessionManagerFactory) type.getConstructor().newInstance();
      }
      if (BaseSessionInterface.class.isAssignableFrom(type)) {
        java.lang.reflect.Constructor<?> constructor = type.getConstructor();
        constructor.newInstance(); // fail now, not on the first request
        return SessionManagerFactory.of(() -> {
          try {
            return (BaseSessionInterface) constructor.newInstance();
          } catch (ReflectiveOperationException e) {
            throw new SessionException("could not create session of " + className, e);
          }
        });
      }
    } catch (ReflectiveOperationException e) {
      throw new IllegalArgumentException("manager class " + className + " needs a public no-argument constructor",
        e);
    }
    throw new IllegalArgumentException("manager class " + className + " must implement "
      + SessionManagerFactory.class.getName() + " or extend " + BaseSessionInterface.class.getName());
  }

  private static String checkSecret(String key, String secret) {
    if (secret != null && secret.getBytes(StandardCharsets.UTF_8).length < MIN_SECRET_BYTES) {
      // Never echo the secret itself.
      throw new IllegalArgumentException(key + " must be at least " + MIN_SECRET_BYTES + " bytes, got "
        + secret.getBytes(StandardCharsets.UTF_8).length + "; generate one with `openssl rand -hex 32`");
    }
    return secret;
  }

  private static String suggestion(String key) {
    String best = null;
    int bestDistance = 4;
    for (String known : JSON_KEYS) {
      int distance = editDistance(key.toLowerCase(Locale.ROOT), known);
      if (distance < bestDistance) {
        best = known;
        bestDistance = distance;
      }
    }
    return best == null ? "" : " (did you mean '" + best + "'?)";
  }

  private static int editDistance(String a, String b) {
    int[] previous = new int[b.length() + 1];
    int[] current = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) previous[j] = j;
    for (int i = 1; i <= a.length(); i++) {
      current[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        current[j] = Math.min(Math.min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[b.length()];
  }

  private static String string(JsonObject json, String key) {
    Object value = json.getValue(key);
    if (value != null && !(value instanceof String)) {
      throw wrongType(key, "a string", value);
    }
    return (String) value;
  }

  private static boolean bool(JsonObject json, String key) {
    Object value = json.getValue(key);
    if (!(value instanceof Boolean)) {
      throw wrongType(key, "true or false", value);
    }
    return (Boolean) value;
  }

  private static long integer(JsonObject json, String key) {
    Long value = nullableInteger(json, key);
    if (value == null) {
      throw wrongType(key, "a whole number", null);
    }
    return value;
  }

  private static Long nullableInteger(JsonObject json, String key) {
    Object value = json.getValue(key);
    if (value == null) {
      return null;
    }
    if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
      return ((Number) value).longValue();
    }
    throw wrongType(key, "a whole number", value);
  }

  private static List<String> stringList(JsonObject json, String key) {
    Object value = json.getValue(key);
    if (!(value instanceof JsonArray)) {
      throw wrongType(key, "a list of strings", value);
    }
    List<String> list = new ArrayList<>();
    for (Object item : (JsonArray) value) {
      if (!(item instanceof String)) {
        throw new IllegalArgumentException(key + " must be a list of strings, found an item of type "
          + typeName(item));
      }
      list.add((String) item);
    }
    return list;
  }

  private static IllegalArgumentException wrongType(String key, String expected, Object value) {
    return new IllegalArgumentException(key + " must be " + expected + ", got " + typeName(value));
  }

  private static String typeName(Object value) {
    if (value == null) return "null";
    if (value instanceof String) return "a string";
    if (value instanceof Boolean) return "a boolean";
    if (value instanceof Number) return "a number";
    if (value instanceof JsonArray) return "a list";
    if (value instanceof JsonObject) return "an object";
    return value.getClass().getSimpleName();
  }

  private static String quote(String value) {
    return value == null ? "null" : "'" + value + "'";
  }
}
