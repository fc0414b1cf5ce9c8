package dev.vertxsessions.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.vertx.core.Vertx;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import io.vertx.tracing.opentelemetry.OpenTelemetryTracingFactory;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The demo with OpenTelemetry (as TRACING=log sets it up, with an in-memory exporter instead of the log): the
 * session's backend calls are child spans of the request's server span, tagged, without the session ID.
 */
@ExtendWith(VertxExtension.class)
class DemoTracingTest {

    @Test
    void sessionCalls_areChildSpansOfTheRequest(Vertx clientVertx, VertxTestContext test) {
        test.verify(() -> {
            InMemorySpanExporter exporter = InMemorySpanExporter.create();
            OpenTelemetrySdk openTelemetry = OpenTelemetrySdk.builder()
                    .setTracerProvider(SdkTracerProvider.builder()
                            .addSpanProcessor(SimpleSpanProcessor.create(exporter))
                            .build())
                    .build();
            Vertx vertx = Vertx.builder()
                    .withTracer(new OpenTelemetryTracingFactory(openTelemetry))
                    .build();
            try {
                DemoApp app = DemoApp.start(
                                vertx, DemoSettings.fromEnv(Map.of()).sessionConfig(), 0, 1)
                        .await();
                WebClient client = WebClient.create(clientVertx); // untraced: only the server's spans are exported
                HttpResponse<?> first =
                        client.get(app.port(), "127.0.0.1", "/").send().await();
                String cookie = first.cookies().get(0).split(";", 2)[0];
                client.get(app.port(), "127.0.0.1", "/")
                        .putHeader("cookie", cookie)
                        .send()
                        .await();
                client.close();

                List<SpanData> spans = exporter.getFinishedSpanItems();
                List<SpanData> servers = spans.stream()
                        .filter(s -> s.getKind() == SpanKind.SERVER)
                        .toList();
                List<SpanData> sessions = spans.stream()
                        .filter(s -> s.getName().startsWith("session "))
                        .toList();
                assertEquals(2, servers.size(), spans.toString());
                assertEquals(
                        List.of("session save", "session load", "session save"),
                        sessions.stream().map(SpanData::getName).toList(),
                        spans.toString());
                for (SpanData span : sessions) {
                    assertTrue(
                            servers.stream()
                                    .anyMatch(server -> server.getSpanId().equals(span.getParentSpanId())
                                            && server.getTraceId().equals(span.getTraceId())),
                            "child of a request's span: " + span);
                    assertEquals("signed", span.getAttributes().get(AttributeKey.stringKey("session.backend")));
                    assertEquals("success", span.getAttributes().get(AttributeKey.stringKey("session.outcome")));
                    assertTrue(!span.toString().contains(cookie.substring(cookie.indexOf('=') + 1)), "no ID: " + span);
                }
            } finally {
                vertx.close().await();
            }
        });
        test.completeNow();
    }
}
