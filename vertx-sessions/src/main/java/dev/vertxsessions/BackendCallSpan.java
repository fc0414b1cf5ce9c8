package dev.vertxsessions;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.spi.tracing.SpanKind;
import io.vertx.core.spi.tracing.TagExtractor;
import io.vertx.core.spi.tracing.VertxTracer;
import io.vertx.core.tracing.TracingPolicy;

/**
 * One backend call as a span of the request's trace, through Vert.x's tracing SPI (OpenTelemetry, Zipkin): named
 * {@code session <operation>}, tagged {@code session.backend}, {@code session.operation} and
 * {@code session.outcome}. Never the session ID or data. Vert.x's {@link TracingPolicy#PROPAGATE} policy: a span
 * only inside a traced request.
 */
final class BackendCallSpan {

    /** The tags of a call: backend and operation. */
    private record Call(String backend, String operation) {}

    private static final TagExtractor<Call> CALL_TAGS = new TagExtractor<>() {
        @Override
        public int len(Call call) {
            return 2;
        }

        @Override
        public String name(Call call, int index) {
            return index == 0 ? "session.backend" : "session.operation";
        }

        @Override
        public String value(Call call, int index) {
            return index == 0 ? call.backend() : call.operation();
        }
    };

    private static final TagExtractor<String> OUTCOME_TAGS = new TagExtractor<>() {
        @Override
        public int len(String outcome) {
            return 1;
        }

        @Override
        public String name(String outcome, int index) {
            return "session.outcome";
        }

        @Override
        public String value(String outcome, int index) {
            return outcome;
        }
    };

    @SuppressWarnings("rawtypes") // the tracer's payload type is its own
    private final VertxTracer tracer;

    private final Context context;
    private final Object payload;

    private BackendCallSpan(VertxTracer<?, ?> tracer, Context context, Object payload) {
        this.tracer = tracer;
        this.context = context;
        this.payload = payload;
    }

    /** Starts the span of a call on the current context (the request's). */
    static BackendCallSpan start(VertxTracer<?, ?> tracer, String backend, String operation) {
        Context context = Vertx.currentContext();
        if (context == null) {
            return new BackendCallSpan(tracer, null, null);
        }
        Object payload = tracer.sendRequest(
                context,
                SpanKind.RPC,
                TracingPolicy.PROPAGATE,
                new Call(backend, operation),
                "session " + operation,
                (name, value) -> {},
                CALL_TAGS);
        return new BackendCallSpan(tracer, context, payload);
    }

    /** Ends the span, with the failure of the call or null. */
    @SuppressWarnings("unchecked") // the payload came from this tracer
    void end(Throwable failure) {
        if (context != null && payload != null) {
            tracer.receiveResponse(context, failure == null ? "success" : "failure", payload, failure, OUTCOME_TAGS);
        }
    }
}
