package dev.vertxsessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.spi.tracing.SpanKind;
import io.vertx.core.spi.tracing.TagExtractor;
import io.vertx.core.spi.tracing.VertxTracer;
import io.vertx.core.tracing.TracingPolicy;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * With Vert.x tracing on, each backend call is a span of the request: named {@code session <operation>}, tagged with
 * the backend, the operation and the outcome, and never with the session ID or data. The tracer here records what
 * Vert.x's tracing SPI hands it, as an in-memory exporter would.
 */
@ExtendWith(VertxExtension.class)
class TracingTest {

    /** A finished client span: its operation and every tag. */
    record Span(String operation, Map<String, String> tags, boolean failed) {}

    /** Records every client-side span (sendRequest to receiveResponse); server spans are not needed here. */
    static final class RecordingTracer implements VertxTracer<Object, Object[]> {
        final List<Span> finished = new CopyOnWriteArrayList<>();

        @Override
        public <R> Object[] sendRequest(
                Context context,
                SpanKind kind,
                TracingPolicy policy,
                R request,
                String operation,
                BiConsumer<String, String> headers,
                TagExtractor<R> tagExtractor) {
            return new Object[] {operation, tagExtractor.extract(request)};
        }

        @Override
        @SuppressWarnings("unchecked")
        public <R> void receiveResponse(
                Context context, R response, Object[] payload, Throwable failure, TagExtractor<R> tagExtractor) {
            Map<String, String> tags = new java.util.TreeMap<>((Map<String, String>) payload[1]);
            tags.putAll(tagExtractor.extract(response));
            finished.add(new Span((String) payload[0], tags, failure != null));
        }
    }

    @Test
    void backendCalls_areSpansOfTheRequest_withBackendOperationAndOutcome_neverTheId(VertxTestContext test) {
        RecordingTracer tracer = new RecordingTracer();
        // A Vert.x of its own, with the tracer: created here, so closed here.
        Vertx traced = Vertx.builder().withTracer(options -> tracer).build();
        try {
            test.verify(() -> {
                TestServer server =
                        TestServer.start(traced, new SessionConfig().setManager("memory"), TestServer::counter);
                String cookie = TestServer.sessionCookie(server.get("/"));
                assertEquals(
                        "You've visited this page 2 times",
                        server.get("/", cookie).bodyAsString());
                server.close();

                assertEquals(
                        List.of(
                                new Span("session save", tags("save", "success"), false),
                                new Span("session load", tags("load", "success"), false),
                                new Span("session save", tags("save", "success"), false)),
                        sessionSpans(tracer));
                for (Span span : sessionSpans(tracer)) {
                    assertFalse(span.tags().toString().contains(cookie), "no session ID in " + span);
                }
            });
        } finally {
            traced.close().await();
        }
        test.completeNow();
    }

    /** The spans of the session layer (the test's HTTP client, on the same Vert.x, makes its own). */
    private static List<Span> sessionSpans(RecordingTracer tracer) {
        return tracer.finished.stream()
                .filter(span -> span.operation().startsWith("session "))
                .toList();
    }

    private static Map<String, String> tags(String operation, String outcome) {
        return Map.of("session.backend", "memory", "session.operation", operation, "session.outcome", outcome);
    }
}
