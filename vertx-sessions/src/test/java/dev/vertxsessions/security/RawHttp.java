package dev.vertxsessions.security;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A deliberately dumb HTTP/1.1 client over a raw TCP socket, so tests can send header bytes that every real client
 * refuses to send (NUL, control characters, values over the server's header limit). One request per connection
 * ({@code Connection: close}); the response is everything the server wrote before closing.
 */
public final class RawHttp implements AutoCloseable {

    /** A parsed response; {@code status} is -1 when the server closed without answering. */
    public static final class Response {
        public final int status;
        public final List<String> headerLines;
        public final String body;

        Response(int status, List<String> headerLines, String body) {
            this.status = status;
            this.headerLines = headerLines;
            this.body = body;
        }

        /** Returns the values of every header called {@code name} (case-insensitive). */
        public List<String> headers(String name) {
            List<String> values = new ArrayList<>();
            String prefix = name.toLowerCase(Locale.ROOT) + ":";
            for (String line : headerLines) {
                if (line.toLowerCase(Locale.ROOT).startsWith(prefix)) {
                    values.add(line.substring(prefix.length()).trim());
                }
            }
            return values;
        }

        @Override
        public String toString() {
            return status + " " + headerLines + " " + body;
        }
    }

    private final NetClient client;
    private final int port;

    public RawHttp(Vertx vertx, int port) {
        this.client =
                vertx.createNetClient(new NetClientOptions().setIdleTimeout(20).setConnectTimeout(10_000));
        this.port = port;
    }

    /** Returns a GET request for {@code path} carrying {@code cookieHeader} (null: no Cookie header), as bytes. */
    public static byte[] get(String path, String cookieHeader) {
        StringBuilder request = new StringBuilder("GET ").append(path).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        if (cookieHeader != null) {
            request.append("Cookie: ").append(cookieHeader).append("\r\n");
        }
        request.append("Connection: close\r\n\r\n");
        // ISO-8859-1 maps chars 0-255 to the same byte: the test controls every byte on the wire.
        return request.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Sends one raw request and parses what comes back. */
    public Future<Response> send(byte[] request) {
        Promise<Response> promise = Promise.promise();
        client.connect(port, "127.0.0.1").onComplete(connected -> {
            if (connected.failed()) {
                promise.fail(connected.cause());
                return;
            }
            Buffer received = Buffer.buffer();
            connected.result().handler(received::appendBuffer);
            connected.result().closeHandler(v -> promise.tryComplete(parse(received)));
            connected.result().exceptionHandler(e -> {}); // a reset after a 4xx is an answer too: parse what came
            connected.result().write(Buffer.buffer(request));
        });
        return promise.future();
    }

    /**
     * Sends every request with at most {@code inFlight} outstanding and returns the responses in order; blocks the
     * calling (test) thread, never an event loop.
     */
    public List<Response> sendAll(List<byte[]> requests, int inFlight) throws InterruptedException {
        return sendAll(requests, inFlight, this::send);
    }

    static <T> List<T> sendAll(List<byte[]> requests, int inFlight, Function<byte[], Future<T>> send)
            throws InterruptedException {
        List<T> results = Collections.synchronizedList(new ArrayList<>(Collections.nCopies(requests.size(), null)));
        List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
        Semaphore slots = new Semaphore(inFlight);
        for (int i = 0; i < requests.size(); i++) {
            slots.acquire();
            int index = i;
            send.apply(requests.get(i)).onComplete(ar -> {
                if (ar.succeeded()) {
                    results.set(index, ar.result());
                } else {
                    failures.add(ar.cause());
                }
                slots.release();
            });
        }
        if (!slots.tryAcquire(inFlight, 120, TimeUnit.SECONDS)) {
            throw new IllegalStateException("requests still outstanding after 120 s");
        }
        if (!failures.isEmpty()) {
            throw new IllegalStateException(
                    failures.size() + " requests failed at the socket level; first: " + failures.get(0),
                    failures.get(0));
        }
        return new ArrayList<>(results);
    }

    /** Returns the size the server's header limit counts: the header lines' bytes without their CRLFs. */
    public static int headerBytes(byte[] request) {
        String head = new String(request, StandardCharsets.ISO_8859_1);
        int end = head.indexOf("\r\n\r\n");
        int total = 0;
        String[] lines = head.substring(0, end).split("\r\n");
        for (int i = 1; i < lines.length; i++) {
            total += lines[i].length();
        }
        return total;
    }

    /** Returns whether the request head holds a control character other than CR, LF and HTAB, which HTTP forbids. */
    public static boolean hasControlChars(byte[] request) {
        for (byte b : request) {
            int c = b & 0xff;
            if ((c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c == 0x7f) {
                return true;
            }
        }
        return false;
    }

    private static Response parse(Buffer received) {
        String raw = received.toString(StandardCharsets.ISO_8859_1);
        int end = raw.indexOf("\r\n\r\n");
        if (!raw.startsWith("HTTP/1.") || end < 0) {
            return new Response(-1, List.of(), raw);
        }
        String[] lines = raw.substring(0, end).split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        List<String> headers = new ArrayList<>(List.of(lines).subList(1, lines.length));
        String body = raw.substring(end + 4);
        for (String line : headers) {
            if (line.toLowerCase(Locale.ROOT).equals("transfer-encoding: chunked")) {
                body = unchunk(body);
            }
        }
        return new Response(
                status, headers, new String(body.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8));
    }

    private static String unchunk(String chunked) {
        StringBuilder body = new StringBuilder();
        int at = 0;
        while (true) {
            int lineEnd = chunked.indexOf("\r\n", at);
            if (lineEnd < 0) {
                return body.toString();
            }
            int size = Integer.parseInt(chunked.substring(at, lineEnd).trim(), 16);
            if (size == 0) {
                return body.toString();
            }
            body.append(chunked, lineEnd + 2, lineEnd + 2 + size);
            at = lineEnd + 2 + size + 2;
        }
    }

    @Override
    public void close() {
        client.close().await();
    }
}
