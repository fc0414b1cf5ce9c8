package dev.vertxsessions.custom;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionManagerFactory;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.TestServer;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A custom backend written only against the public API (this package sees nothing package-private). */
@ExtendWith(VertxExtension.class)
public class CustomBackendTest {

  /** The seed's "custom backend" example in Java: a map stands in for the Redis client. */
  public static class MemorySession extends BaseSessionInterface {
    static final Map<String, String> STORE = new ConcurrentHashMap<>();
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    protected Future<Void> load() {
      String json = STORE.get("session:" + getSessionKey());
      if (json != null) {
        try {
          restore(JSON.readValue(json, new TypeReference<Map<String, Object>>() { }));
        } catch (Exception e) {
          // unreadable entry: no session
        }
      }
      return Future.succeededFuture();
    }

    @Override
    protected Future<Void> save() {
      try {
        STORE.put("session:" + getSessionKey(), JSON.writeValueAsString(data()));
        return Future.succeededFuture();
      } catch (Exception e) {
        return Future.failedFuture(e);
      }
    }

    @Override
    protected Future<Void> delete(String sessionKey) {
      STORE.remove("session:" + sessionKey);
      return Future.succeededFuture();
    }
  }

  TestServer server;

  @BeforeEach
  void start(Vertx vertx) {
    MemorySession.STORE.clear();
    server = TestServer.start(vertx, new SessionConfig().setManager(SessionManagerFactory.of(MemorySession::new)),
      router -> {
        TestServer.counter(router);
        router.post("/login").handler(ctx -> {
          SessionMiddleware.session(ctx).regenerate().put("user_id", 42);
          ctx.end("ok");
        });
        router.post("/logout").handler(ctx -> {
          SessionMiddleware.session(ctx).clear();
          ctx.end("bye");
        });
      });
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void customBackend_countsStoresRegeneratesAndDeletes() {
    HttpResponse<Buffer> first = server.get("/");
    assertEquals("You've visited this page 1 times", first.bodyAsString());
    String key = TestServer.sessionCookie(first);
    assertEquals("{\"counter\":1}", MemorySession.STORE.get("session:" + key));
    assertEquals("You've visited this page 2 times", server.get("/", key).bodyAsString());

    String newKey = TestServer.sessionCookie(server.post("/login", key));
    assertFalse(newKey.equals(key));
    assertNull(MemorySession.STORE.get("session:" + key));
    assertEquals("{\"counter\":2,\"user_id\":42}", MemorySession.STORE.get("session:" + newKey));

    HttpResponse<Buffer> logout = server.post("/logout", newKey);
    assertTrue(TestServer.setCookie(logout, "session_id").startsWith("session_id=; Max-Age=0;"));
    assertTrue(MemorySession.STORE.isEmpty());
  }

  @Test
  void unknownKey_startsFreshWithServerChosenKey() {
    HttpResponse<Buffer> response = server.get("/", "client-chosen-id");
    assertEquals("You've visited this page 1 times", response.bodyAsString());
    String key = TestServer.sessionCookie(response);
    assertFalse(key.equals("client-chosen-id"));
    assertEquals(43, key.length());
    assertNull(MemorySession.STORE.get("session:client-chosen-id"));
  }
}
