package dev.vertxsessions.internal;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;

/**
 * Reads the session cookie from a request's {@code Cookie} headers and writes its {@code Set-Cookie} header, in
 * the same layout as Vert.x's cookie jar ({@code name=value; Max-Age=..; Expires=..; Path=..; Domain=..; Secure;
 * HTTPOnly; SameSite=..}). It exists because the jar decodes every cookie of every request and validates and
 * formats every attribute of every response (profiled at a quarter of the session cost of a request); the
 * attributes here are validated once, by SessionConfig, and the {@code Expires} date is formatted once a second.
 * Thread-safe.
 */
public final class SessionCookie {

    private static final DateTimeFormatter EXPIRES = DateTimeFormatter.ofPattern(
                    "EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US)
            .withZone(ZoneOffset.UTC);

    /** An {@code Expires} date and the second it formats. */
    private static final class FormattedSecond {
        final long epochSecond;
        final String text;

        FormattedSecond(long epochSecond) {
            this.epochSecond = epochSecond;
            this.text = EXPIRES.format(Instant.ofEpochSecond(epochSecond));
        }
    }

    private final String prefix;
    private final String attributes;
    private volatile FormattedSecond lastExpires = new FormattedSecond(0);

    /**
     * Creates the cookie's reader and writer; the values must be valid cookie attributes (SessionConfig checks
     * them at start-up), {@code domain} and {@code sameSite} may be null.
     */
    public SessionCookie(String name, String path, String domain, boolean secure, boolean httpOnly, String sameSite) {
        this.prefix = name + "=";
        StringBuilder text = new StringBuilder();
        if (path != null) {
            text.append("; Path=").append(path);
        }
        if (domain != null) {
            text.append("; Domain=").append(domain);
        }
        if (secure) {
            text.append("; Secure");
        }
        if (httpOnly) {
            text.append("; HTTPOnly");
        }
        if (sameSite != null) {
            text.append("; SameSite=").append(sameSite);
        }
        this.attributes = text.toString();
    }

    /**
     * Returns the value of the first cookie with this name in the request's {@code Cookie} headers (without the
     * double quotes RFC 6265 allows around a value), or null when there is none.
     */
    public String read(MultiMap requestHeaders) {
        List<String> headers = requestHeaders.getAll(HttpHeaders.COOKIE);
        for (int h = 0; h < headers.size(); h++) {
            String value = find(headers.get(h));
            if (value != null) {
                return value;
            }
        }
        return null;
    }

    private String find(String header) {
        int length = header.length();
        int start = 0;
        while (start < length) {
            while (start < length && (header.charAt(start) == ' ' || header.charAt(start) == '\t')) {
                start++;
            }
            int end = start;
            while (end < length && header.charAt(end) != ';' && header.charAt(end) != ',') {
                end++;
            }
            if (header.startsWith(prefix, start)) {
                int valueEnd = end;
                while (valueEnd > start
                        && (header.charAt(valueEnd - 1) == ' ' || header.charAt(valueEnd - 1) == '\t')) {
                    valueEnd--;
                }
                int valueStart = start + prefix.length();
                if (valueEnd - valueStart >= 2
                        && header.charAt(valueStart) == '"'
                        && header.charAt(valueEnd - 1) == '"') {
                    valueStart++;
                    valueEnd--;
                }
                return header.substring(valueStart, Math.max(valueStart, valueEnd));
            }
            start = end + 1;
        }
        return null;
    }

    /** Returns the {@code Set-Cookie} header value that sets the cookie to {@code value} for {@code maxAgeSeconds}. */
    public String header(String value, long maxAgeSeconds) {
        long expiresSecond = System.currentTimeMillis() / 1000 + maxAgeSeconds;
        FormattedSecond expires = lastExpires;
        if (expires.epochSecond != expiresSecond) {
            expires = new FormattedSecond(expiresSecond);
            lastExpires = expires;
        }
        return prefix + value + "; Max-Age=" + maxAgeSeconds + "; Expires=" + expires.text + attributes;
    }

    /** Returns the {@code Set-Cookie} header value of a browser-session cookie: no Max-Age, no Expires. */
    public String sessionHeader(String value) {
        return prefix + value + attributes;
    }

    /** Adds the header to a response's headers, replacing one this cookie has set before in the same response. */
    public void set(MultiMap responseHeaders, String header, boolean replace) {
        if (replace) {
            List<String> all = responseHeaders.getAll(HttpHeaders.SET_COOKIE);
            responseHeaders.remove(HttpHeaders.SET_COOKIE);
            for (String other : all) {
                if (!other.startsWith(prefix)) {
                    responseHeaders.add(HttpHeaders.SET_COOKIE, other);
                }
            }
        }
        responseHeaders.add(HttpHeaders.SET_COOKIE, header);
    }
}
