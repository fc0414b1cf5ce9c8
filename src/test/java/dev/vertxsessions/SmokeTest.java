package dev.vertxsessions;

import dev.vertxsessions.file.FileSessionInterface;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class SmokeTest {
  @Test
  void counter_signedAndFile(@TempDir Path dir) {
    Vertx vertx = Vertx.vertx();
    try {
      for (SessionConfig config : new SessionConfig[] {
        new SessionConfig().setSecretKey(TestServer.SECRET),
        new SessionConfig().setManager(FileSessionInterface.factory(dir, "session_"))}) {
        try (TestServer server = TestServer.start(vertx, config, TestServer::counter)) {
          HttpResponse<Buffer> r1 = server.client.get("/").send().await();
          assertEquals("You've visited this page 1 times", r1.bodyAsString());
          String sc = TestServer.setCookie(r1, "session_id");
          System.out.println(sc);
          assertNotNull(sc);
          HttpResponse<Buffer> r2 = server.client.get("/").putHeader("cookie", "session_id=" + TestServer.cookieValue(sc)).send().await();
          assertEquals("You've visited this page 2 times", r2.bodyAsString());
          System.out.println(r2.headers().getAll("set-cookie"));
        }
      }
    } finally {
      vertx.close().await();
    }
  }
}
