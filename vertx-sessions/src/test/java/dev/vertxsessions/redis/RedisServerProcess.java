package dev.vertxsessions.redis;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * A private {@code redis-server}: started on a free loopback port without persistence, killed and restarted on the
 * same port to simulate an outage, paused (SIGSTOP) to simulate a server that does not answer. It also speaks just
 * enough RESP over a plain socket for tests to inspect what the backend stored.
 *
 * <p>Tests use it through {@link RedisServerExtension}, which starts one per test class. Besides a plain server
 * it starts the parts of a deployment: a replica ({@link #startReplicaOf}), a Redis Cluster node
 * ({@link #startClusterNode}) and a Sentinel ({@link #startSentinel}).
 *
 * <p>{@link #start()} and the others skip the calling test (JUnit Assumptions) when {@code redis-server} is not on
 * the PATH.
 */
public final class RedisServerProcess implements AutoCloseable {

    private static final String PROGRAM = "redis-server";
    /** Why the Redis tests are skipped where {@code redis-server} is not installed. */
    static final String MISSING = PROGRAM + " is not on the PATH: install it (e.g. apt-get install redis-server) "
            + "to run the Redis backend tests";

    final int port;
    private final Path directory;
    private final List<String> arguments;
    private Process process;
    private Socket admin;
    private boolean paused;

    private RedisServerProcess(int port, Path directory, List<String> arguments) {
        this.port = port;
        this.directory = directory;
        this.arguments = arguments;
    }

    /** Starts a server on a free port, or skips the test when redis-server is not installed. */
    public static RedisServerProcess start() throws IOException {
        return startWith(freePort(false), List.of());
    }

    /** Starts a replica of {@code master} on a free port. */
    static RedisServerProcess startReplicaOf(RedisServerProcess master) throws IOException {
        return startWith(freePort(false), List.of("--replicaof", "127.0.0.1", Integer.toString(master.port)));
    }

    /** Starts an empty Redis Cluster node (not yet part of a cluster) on a free port whose bus port is free too. */
    static RedisServerProcess startClusterNode(int nodeTimeoutMillis) throws IOException {
        int port = freePort(true);
        return startWith(
                port,
                List.of(
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes-" + port + ".conf",
                        "--cluster-node-timeout",
                        Integer.toString(nodeTimeoutMillis)));
    }

    /**
     * Starts a Sentinel that watches {@code master} under {@code masterName} with the given quorum, finding it down
     * after {@code downAfterMillis} without an answer.
     */
    static RedisServerProcess startSentinel(
            RedisServerProcess master, String masterName, int quorum, int downAfterMillis, int failoverTimeoutMillis)
            throws IOException {
        assumeInstalled();
        int port = freePort(false);
        Path directory = Files.createTempDirectory("redis-sentinel-");
        Path config = directory.resolve("sentinel.conf");
        Files.writeString(
                config,
                String.join(
                        "\n",
                        "port " + port,
                        "bind 127.0.0.1",
                        "dir " + directory,
                        "sentinel monitor " + masterName + " 127.0.0.1 " + master.port + " " + quorum,
                        "sentinel down-after-milliseconds " + masterName + " " + downAfterMillis,
                        "sentinel failover-timeout " + masterName + " " + failoverTimeoutMillis,
                        "sentinel parallel-syncs " + masterName + " 1",
                        ""));
        RedisServerProcess sentinel =
                new RedisServerProcess(port, directory, List.of(config.toString(), "--sentinel", "--daemonize", "no"));
        sentinel.launch();
        return sentinel;
    }

    private static RedisServerProcess startWith(int port, List<String> extra) throws IOException {
        assumeInstalled();
        Path directory = Files.createTempDirectory("redis-test-");
        List<String> arguments = new ArrayList<>(List.of(
                "--port",
                Integer.toString(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                directory.toString(),
                "--daemonize",
                "no",
                // A replica syncs at once, not after the 5 s a master waits by default for more replicas to share the
                // sync.
                "--repl-diskless-sync-delay",
                "0"));
        arguments.addAll(extra);
        RedisServerProcess server = new RedisServerProcess(port, directory, arguments);
        server.launch();
        return server;
    }

    private static void assumeInstalled() {
        Assumptions.assumeTrue(
                onPath(),
                PROGRAM + " is not on the PATH: install it (e.g. apt-get install redis-server) "
                        + "to run the Redis backend tests");
    }

    /** Returns a free loopback port; with {@code busToo}, one whose Cluster bus port (port + 10000) is free too. */
    @SuppressWarnings("try") // the bus port is only held open to see that it is free
    private static int freePort(boolean busToo) throws IOException {
        for (int attempt = 0; attempt < 100; attempt++) {
            int port;
            try (ServerSocket socket = new ServerSocket(
                    busToo ? 20000 + ThreadLocalRandom.current().nextInt(30000) : 0,
                    1,
                    InetAddress.getLoopbackAddress())) {
                port = socket.getLocalPort();
            } catch (IOException taken) {
                continue;
            }
            if (!busToo) {
                return port;
            }
            try (ServerSocket bus = new ServerSocket(port + 10000, 1, InetAddress.getLoopbackAddress())) {
                return port;
            } catch (IOException taken) {
                // try another
            }
        }
        throw new IOException("no free loopback port found");
    }

    /** Returns whether redis-server is an executable file in one of the PATH's directories. */
    static boolean onPath() {
        return onPath(PROGRAM);
    }

    /** Returns whether {@code program} is an executable file in one of the PATH's directories. */
    static boolean onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }

    /** Returns the lines of the server's log (its standard output) that contain {@code marker}. */
    List<String> logLines(String marker) throws IOException {
        return Files.readAllLines(directory.resolve("redis.log")).stream()
                .filter(line -> line.contains(marker))
                .collect(java.util.stream.Collectors.toList());
    }

    /** Returns the connection string of this server. */
    public String url() {
        return "redis://127.0.0.1:" + port;
    }

    /** Kills the server (SIGKILL), as a crash would, and waits for it to exit. */
    void kill() throws InterruptedException {
        closeAdmin();
        process.destroyForcibly();
        process.waitFor();
    }

    /** Starts the server again on the same port, empty. */
    void restart() throws IOException {
        launch();
    }

    /** Stops the server from answering (SIGSTOP) while its connections stay open. */
    void pause() throws IOException, InterruptedException {
        signal("STOP");
        paused = true;
    }

    /** Lets a paused server answer again (SIGCONT). */
    void resume() throws IOException, InterruptedException {
        signal("CONT");
        paused = false;
    }

    /**
     * Makes the server what a newly started one is: running (started again, on the same port, if it was killed),
     * answering (resumed if it was paused), without keys and without cached scripts.
     */
    void reset() throws IOException, InterruptedException {
        if (process == null || !process.isAlive()) {
            closeAdmin();
            launch();
        } else if (paused) {
            resume();
        }
        command("FLUSHALL");
        command("SCRIPT", "FLUSH");
    }

    /**
     * Sends one command and returns the reply: String (simple or bulk; null for nil), Long, or List of replies.
     * An error reply throws {@link IllegalStateException}.
     */
    public Object command(String... args) throws IOException {
        if (admin == null) {
            admin = connect();
        }
        try {
            write(admin.getOutputStream(), args);
            return read(admin.getInputStream());
        } catch (IOException e) {
            closeAdmin(); // the next command opens a new connection
            throw e;
        }
    }

    /** Opens a MONITOR connection that reports the commands clients send from now on. */
    Monitor monitor() throws IOException {
        return new Monitor();
    }

    @Override
    public void close() throws IOException {
        closeAdmin();
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try (Stream<Path> files = Files.walk(directory)) {
            files.sorted(Comparator.reverseOrder())
                    .forEach(file -> file.toFile().delete());
        }
    }

    /** Commands seen by a MONITOR connection. */
    final class Monitor implements AutoCloseable {
        private final Socket socket;
        private final InputStream in;

        private Monitor() throws IOException {
            socket = connect();
            write(socket.getOutputStream(), "MONITOR");
            in = new BufferedInputStream(socket.getInputStream());
            Object ok = read(in);
            if (!"OK".equals(ok)) {
                throw new IOException("MONITOR answered " + ok);
            }
        }

        /**
         * Returns the commands clients other than the test's own connection sent since the last call, one line each
         * ({@code "HGETALL" "session:..."}), leaving out the commands scripts ran.
         */
        List<String> drain() throws IOException {
            String marker = "monitor-marker-" + UUID.randomUUID();
            command("ECHO", marker);
            String own = "127.0.0.1:" + admin.getLocalPort() + "]";
            List<String> commands = new ArrayList<>();
            while (true) {
                String line = (String) read(in);
                if (line.contains(marker)) {
                    return commands;
                }
                if (line.contains(" lua] ") || line.contains(own)) {
                    continue;
                }
                int bracket = line.indexOf("] ");
                commands.add(bracket < 0 ? line : line.substring(bracket + 2));
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    private void launch() throws IOException {
        paused = false;
        List<String> command = new ArrayList<>();
        command.add(PROGRAM);
        command.addAll(arguments);
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(
                        directory.resolve("redis.log").toFile()));
        process = builder.start();
        IOException last = null;
        for (int i = 0; i < 400; i++) {
            if (!process.isAlive()) {
                throw new IOException(
                        PROGRAM + " exited at start-up: " + Files.readString(directory.resolve("redis.log")));
            }
            try (Socket socket = connect()) {
                write(socket.getOutputStream(), "PING");
                if ("PONG".equals(read(socket.getInputStream()))) {
                    return;
                }
            } catch (IOException e) {
                last = e;
            }
            try {
                Thread.sleep(25);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for " + PROGRAM, e);
            }
        }
        throw new IOException(PROGRAM + " did not answer PING on port " + port, last);
    }

    private void signal(String signal) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid()))
                .inheritIO()
                .start();
        if (kill.waitFor() != 0) {
            throw new IOException("kill -" + signal + " failed");
        }
    }

    @SuppressWarnings("AddressSelection") // the literal loopback address: there is no name to resolve
    private Socket connect() throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 2000);
        socket.setSoTimeout(30_000);
        return socket;
    }

    private void closeAdmin() {
        if (admin != null) {
            try {
                admin.close();
            } catch (IOException ignored) {
                // closing anyway
            }
            admin = null;
        }
    }

    private static void write(OutputStream out, String... args) throws IOException {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        buffer.write(("*" + args.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
        for (String arg : args) {
            byte[] bytes = arg.getBytes(StandardCharsets.UTF_8);
            buffer.write(("$" + bytes.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
            buffer.write(bytes);
            buffer.write("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        out.write(buffer.toByteArray());
        out.flush();
    }

    private static Object read(InputStream in) throws IOException {
        int type = in.read();
        String line = readLine(in);
        switch (type) {
            case '+' -> {
                return line;
            }
            case '-' -> throw new IllegalStateException(line);
            case ':' -> {
                return Long.parseLong(line);
            }
            case '$' -> {
                int length = Integer.parseInt(line);
                if (length < 0) {
                    return null;
                }
                byte[] bytes = in.readNBytes(length + 2);
                return new String(bytes, 0, length, StandardCharsets.UTF_8);
            }
            case '*' -> {
                int count = Integer.parseInt(line);
                if (count < 0) {
                    return null;
                }
                List<Object> items = new ArrayList<>(count);
                for (int i = 0; i < count; i++) {
                    items.add(read(in));
                }
                return items;
            }
            default -> throw new IOException("unexpected RESP type " + type + " " + line);
        }
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != '\r') {
            if (c < 0) {
                throw new IOException("connection closed");
            }
            line.write(c);
        }
        in.read(); // '\n'
        return line.toString(StandardCharsets.UTF_8);
    }
}
