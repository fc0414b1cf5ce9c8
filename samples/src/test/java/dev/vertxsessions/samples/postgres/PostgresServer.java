package dev.vertxsessions.samples.postgres;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * A private PostgreSQL server for tests: {@code initdb} into a temporary directory, {@code postgres} on a free
 * loopback port with trust authentication and without durability (fsync off), stopped and deleted by
 * {@link #close()}. PostgreSQL refuses to run as root, so as root the server runs as the {@code postgres} user
 * (the Debian package creates it).
 *
 * <p>Use it through {@link Extension}: {@code @ExtendWith(PostgresServer.Extension.class)} starts one server for
 * the whole test run, shared by every class that asks, and injects it into any test, constructor or
 * {@code @BeforeEach} parameter of type PostgresServer. Each class keeps its sessions apart with tables of its own
 * ({@link #uniqueTable(String)}).
 *
 * <p>Where the server binaries are missing (or the tests run as root and there is no {@code postgres} user), each
 * test is skipped with a message naming the Debian package {@code postgresql}: never passed silently.
 */
public final class PostgresServer implements AutoCloseable {

    /** Where Debian's postgresql package installs the server, one directory per major version. */
    private static final Path DEBIAN_ROOT = Path.of("/usr/lib/postgresql");
    /** A directory holding initdb and postgres, to use instead of the newest under /usr/lib/postgresql. */
    private static final String BIN_VARIABLE = "POSTGRES_BIN";

    private static final String SYSTEM_USER = "postgres";
    private static final AtomicInteger TABLES = new AtomicInteger();

    private final Path bin;
    private final Path directory;
    private final int port;
    private final String runAs;
    private Process process;

    private PostgresServer(Path bin, Path directory, int port, String runAs) {
        this.bin = bin;
        this.directory = directory;
        this.port = port;
        this.runAs = runAs;
    }

    /** Starts a server, or skips the calling tests when PostgreSQL cannot be run here. */
    public static PostgresServer start() throws IOException, InterruptedException {
        String configured = System.getenv(BIN_VARIABLE);
        Path bin = findBinaries(configured);
        Assumptions.assumeTrue(
                bin != null,
                configured != null && !configured.isEmpty()
                        ? BIN_VARIABLE + "=" + configured
                                + " does not hold the PostgreSQL server programs (initdb, postgres, pg_ctl, "
                                + "pg_isready): fix it, or unset it and install the Debian package postgresql, to run the PostgreSQL tests"
                        : "PostgreSQL server binaries (initdb, postgres) not found under " + DEBIAN_ROOT
                                + "/*/bin: install the "
                                + "Debian package postgresql (apt-get install -y postgresql), or set " + BIN_VARIABLE
                                + " to their "
                                + "directory, to run the PostgreSQL tests");
        String runAs = null;
        if (isRoot()) {
            Assumptions.assumeTrue(
                    run(List.of("id", "-u", SYSTEM_USER)) == 0,
                    "the tests run as root and there is no '"
                            + SYSTEM_USER
                            + "' user to run PostgreSQL as (it refuses to run as root): install the Debian package "
                            + "postgresql, which creates it, or run the tests as another user");
            runAs = SYSTEM_USER;
        }
        Path directory = Files.createTempDirectory("postgres-test-");
        if (runAs != null) {
            UserPrincipalLookupService users = directory.getFileSystem().getUserPrincipalLookupService();
            Files.setOwner(directory, users.lookupPrincipalByName(runAs));
        }
        int port;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        }
        PostgresServer server = new PostgresServer(bin, directory, port, runAs);
        try {
            server.launch();
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
        return server;
    }

    /** Returns the URL of the {@code postgres} database as user {@code postgres} (no password: trust). */
    public String url() {
        return "postgresql://postgres@127.0.0.1:" + port + "/postgres";
    }

    /** Returns the port the server listens on (127.0.0.1). */
    public int port() {
        return port;
    }

    /** Returns a table name no other test of this run uses, e.g. {@code demo_7}. */
    public static String uniqueTable(String prefix) {
        return prefix + "_" + TABLES.incrementAndGet();
    }

    /**
     * Runs {@code sql} with psql and returns what it printed: unaligned, tuples only (one row a line, columns
     * separated by {@code |}), so {@code psql("SELECT count(*) FROM t")} returns {@code "3"}.
     */
    public String psql(String sql) throws IOException, InterruptedException {
        Process psql = new ProcessBuilder(
                        bin.resolve("psql").toString(),
                        "-X",
                        "-q",
                        "-A",
                        "-t",
                        "-v",
                        "ON_ERROR_STOP=1",
                        "-h",
                        "127.0.0.1",
                        "-p",
                        Integer.toString(port),
                        "-U",
                        "postgres",
                        "-d",
                        "postgres",
                        "-c",
                        sql)
                .redirectErrorStream(true)
                .start();
        String output = new String(psql.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (psql.waitFor() != 0) {
            throw new IOException("psql failed: " + output);
        }
        return output;
    }

    /** Stops the server (fast shutdown) and deletes its directory. */
    @Override
    public void close() throws IOException {
        try {
            if (process != null && process.isAlive()) {
                run(command("pg_ctl", "stop", "-D", dataDirectory().toString(), "-m", "fast", "-w", "-t", "30"));
                if (!process.waitFor(30, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            try (Stream<Path> files = Files.walk(directory)) {
                files.sorted(Comparator.reverseOrder())
                        .forEach(file -> file.toFile().delete());
            }
        }
    }

    /** Starts one server for the whole test run and injects it into parameters of type PostgresServer. */
    public static final class Extension implements BeforeAllCallback, BeforeEachCallback, ParameterResolver {

        private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(Extension.class);

        /** Starts the server with the first class that uses it; a failure is reported by each test, as a skip. */
        @Override
        public void beforeAll(ExtensionContext context) {
            running(context);
        }

        /**
         * Skips the test, with the reason, when the server could not start. Per test, not per class: Surefire reports
         * a class whose {@code @BeforeAll} was skipped as zero tests run, which reads like a pass.
         */
        @Override
        public void beforeEach(ExtensionContext context) {
            server(context);
        }

        @Override
        public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
            return parameter.getParameter().getType() == PostgresServer.class;
        }

        /**
         * Returns the server, or null when it could not start: every test is then skipped by {@link #beforeEach}
         * before it runs, so a constructor or {@code @BeforeAll} may keep the parameter but must not use it.
         */
        @Override
        public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
            return running(context).server;
        }

        /** The root store closes the server when the whole run is over (after the last class that used it). */
        private static Running running(ExtensionContext context) {
            return context.getRoot()
                    .getStore(NAMESPACE)
                    .getOrComputeIfAbsent(
                            Running.class,
                            key -> {
                                try {
                                    return new Running(start(), null);
                                } catch (
                                        Exception
                                                e) { // includes the assumption failure: remembered, so every test skips
                                    // alike
                                    return new Running(null, e);
                                }
                            },
                            Running.class);
        }

        private static PostgresServer server(ExtensionContext context) {
            Running running = running(context);
            if (running.failure instanceof RuntimeException runtimeException) {
                throw runtimeException;
            }
            if (running.failure != null) {
                throw new IllegalStateException("PostgreSQL did not start: " + running.failure, running.failure);
            }
            return running.server;
        }

        private record Running(PostgresServer server, Exception failure)
                implements ExtensionContext.Store.CloseableResource {
            @Override
            public void close() throws IOException {
                if (server != null) {
                    server.close();
                }
            }
        }
    }

    private void launch() throws IOException, InterruptedException {
        Path initLog = directory.resolve("initdb.log");
        int initdb = run(
                command(
                        "initdb",
                        "-D",
                        dataDirectory().toString(),
                        "-U",
                        "postgres",
                        "--auth=trust",
                        "-E",
                        "UTF8",
                        "--locale=C",
                        "--no-sync"),
                initLog);
        if (initdb != 0) {
            throw new IOException("initdb failed: " + Files.readString(initLog));
        }
        Path log = directory.resolve("postgres.log");
        List<String> server = command(
                "postgres",
                "-D",
                dataDirectory().toString(),
                "-p",
                Integer.toString(port),
                "-k",
                directory.toString(),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off");
        if (hasStatementStatistics()) {
            server.addAll(List.of("-c", "shared_preload_libraries=pg_stat_statements"));
        }
        process = new ProcessBuilder(server)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        for (int i = 0; i < 600; i++) {
            if (!process.isAlive()) {
                throw new IOException("postgres exited at start-up: " + Files.readString(log));
            }
            if (run(List.of(
                            bin.resolve("pg_isready").toString(),
                            "-q",
                            "-h",
                            "127.0.0.1",
                            "-p",
                            Integer.toString(port)))
                    == 0) {
                return;
            }
            Thread.sleep(50);
        }
        throw new IOException(
                "postgres did not accept connections on port " + port + " within 30 s: " + Files.readString(log));
    }

    /**
     * Returns whether the server can count statements ({@code pg_stat_statements}, in the Debian package): then it is
     * preloaded, and a test may {@code CREATE EXTENSION pg_stat_statements} to see which statements ran.
     */
    public boolean hasStatementStatistics() {
        return Files.isRegularFile(bin.getParent().resolve("lib").resolve("pg_stat_statements.so"));
    }

    private Path dataDirectory() {
        return directory.resolve("data");
    }

    /** Returns the command line that runs the server program {@code program}, as the unprivileged user if needed. */
    private List<String> command(String program, String... args) {
        List<String> command = new ArrayList<>();
        if (runAs != null) {
            command.addAll(List.of("runuser", "-u", runAs, "--"));
        }
        command.add(bin.resolve(program).toString());
        command.addAll(List.of(args));
        return command;
    }

    /** Returns the directory of initdb and postgres: POSTGRES_BIN, or the newest /usr/lib/postgresql/N/bin. */
    private static Path findBinaries(String configured) throws IOException {
        if (configured != null && !configured.isEmpty()) {
            return hasServer(Path.of(configured)) ? Path.of(configured) : null;
        }
        if (!Files.isDirectory(DEBIAN_ROOT)) {
            return null;
        }
        try (Stream<Path> versions = Files.list(DEBIAN_ROOT)) {
            return versions.map(version -> version.resolve("bin"))
                    .filter(PostgresServer::hasServer)
                    .max(Comparator.comparing(PostgresServer::majorVersion))
                    .orElse(null);
        }
    }

    private static boolean hasServer(Path bin) {
        return Files.isExecutable(bin.resolve("initdb"))
                && Files.isExecutable(bin.resolve("postgres"))
                && Files.isExecutable(bin.resolve("pg_ctl"))
                && Files.isExecutable(bin.resolve("pg_isready"));
    }

    private static int majorVersion(Path bin) {
        try {
            return Integer.parseInt(bin.getParent().getFileName().toString());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static boolean isRoot() throws IOException, InterruptedException {
        Process id = new ProcessBuilder("id", "-u").redirectErrorStream(true).start();
        String uid = new String(id.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        id.waitFor();
        return uid.equals("0");
    }

    private static int run(List<String> command) throws IOException, InterruptedException {
        return new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start()
                .waitFor();
    }

    private static int run(List<String> command, Path log) throws IOException, InterruptedException {
        return new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start()
                .waitFor();
    }
}
