package dev.vertxsessions.samples;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * A client that keeps cookies like a browser: it sends what earlier responses set and forgets a cookie that a
 * response expires. It follows no redirects, so tests see every 302. Safe for parallel requests.
 */
final class Browser {

    /** The Accept header Chromium sends for pages and form submissions. */
    static final String PAGE_ACCEPT =
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

    private final Supplier<WebClient> clients;
    private final Map<String, String> cookies = new ConcurrentHashMap<>();

    /** Creates a browser with no cookies that sends its requests with the client {@code clients} gives now. */
    Browser(Supplier<WebClient> clients) {
        this.clients = clients;
    }

    HttpResponse<Buffer> get(String path) {
        return send(clients.get().request(HttpMethod.GET, path)).await();
    }

    HttpResponse<Buffer> getHtml(String path) {
        return send(clients.get().request(HttpMethod.GET, path).putHeader("accept", PAGE_ACCEPT))
                .await();
    }

    /** Gets with extra request headers: {@code headers} are name, value, name, value, ... */
    HttpResponse<Buffer> getWithHeaders(String path, String... headers) {
        HttpRequest<Buffer> request = clients.get().request(HttpMethod.GET, path);
        for (int i = 0; i < headers.length; i += 2) {
            request.putHeader(headers[i], headers[i + 1]);
        }
        return send(request).await();
    }

    HttpResponse<Buffer> post(String path) {
        return postAsync(path).await();
    }

    /** Posts with extra request headers: {@code headers} are name, value, name, value, ... */
    HttpResponse<Buffer> postWithHeaders(String path, String... headers) {
        HttpRequest<Buffer> request = clients.get().request(HttpMethod.POST, path);
        for (int i = 0; i < headers.length; i += 2) {
            request.putHeader(headers[i], headers[i + 1]);
        }
        return send(request).await();
    }

    Future<HttpResponse<Buffer>> getAsync(String path) {
        return send(clients.get().request(HttpMethod.GET, path));
    }

    Future<HttpResponse<Buffer>> postAsync(String path) {
        return send(clients.get().request(HttpMethod.POST, path));
    }

    /** Posts an HTML form: {@code fields} are name, value, name, value, ... */
    HttpResponse<Buffer> postForm(String path, String... fields) {
        MultiMap form = MultiMap.caseInsensitiveMultiMap();
        for (int i = 0; i < fields.length; i += 2) {
            form.add(fields[i], fields[i + 1]);
        }
        HttpRequest<Buffer> request = withCookies(clients.get().request(HttpMethod.POST, path));
        return request.sendForm(form).onSuccess(this::keepCookies).await();
    }

    /**
     * Posts an HTML form as a browser submits one from a page of the demo: {@code Accept: text/html} and
     * {@code Sec-Fetch-Site: same-origin}. {@code fields} are name, value, name, value, ...
     */
    HttpResponse<Buffer> submitForm(String path, String... fields) {
        MultiMap form = MultiMap.caseInsensitiveMultiMap();
        for (int i = 0; i < fields.length; i += 2) {
            form.add(fields[i], fields[i + 1]);
        }
        HttpRequest<Buffer> request = withCookies(clients.get().request(HttpMethod.POST, path))
                .putHeader("accept", PAGE_ACCEPT)
                .putHeader("sec-fetch-site", "same-origin");
        return request.sendForm(form).onSuccess(this::keepCookies).await();
    }

    /** Returns the value of the cookie {@code name} this browser holds, or null. */
    String cookie(String name) {
        return cookies.get(name);
    }

    /** Sets a cookie by hand (e.g. a forged or stolen one). */
    void setCookie(String name, String value) {
        cookies.put(name, value);
    }

    private Future<HttpResponse<Buffer>> send(HttpRequest<Buffer> request) {
        return withCookies(request).send().onSuccess(this::keepCookies);
    }

    private HttpRequest<Buffer> withCookies(HttpRequest<Buffer> request) {
        if (!cookies.isEmpty()) {
            StringBuilder header = new StringBuilder();
            cookies.forEach((name, value) -> header.append(header.length() == 0 ? "" : "; ")
                    .append(name)
                    .append('=')
                    .append(value));
            request.putHeader("cookie", header.toString());
        }
        return request;
    }

    private void keepCookies(HttpResponse<Buffer> response) {
        for (String setCookie : response.headers().getAll("set-cookie")) {
            String pair = setCookie.split(";", 2)[0];
            int eq = pair.indexOf('=');
            String name = pair.substring(0, eq).trim();
            String value = pair.substring(eq + 1).trim();
            if (value.isEmpty() || setCookie.toLowerCase(Locale.ROOT).contains("max-age=0")) {
                cookies.remove(name);
            } else {
                cookies.put(name, value);
            }
        }
    }

    /** Returns the Set-Cookie header of {@code response} for {@code name}, or null. */
    static String setCookie(HttpResponse<Buffer> response, String name) {
        for (String header : response.headers().getAll("set-cookie")) {
            if (header.startsWith(name + "=")) {
                return header;
            }
        }
        return null;
    }
}
