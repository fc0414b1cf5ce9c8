package dev.vertxsessions.testkit;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test during which a Vert.x event loop was caught doing blocking I/O: a JDBC call, a blocking socket, file
 * I/O through {@code java.io} or {@code java.nio.file}, or {@code Thread.sleep}. Registered by the contracts; a
 * backend's own tests can register it too ({@code @RegisterExtension}).
 *
 * <p>A thread samples the stacks of the event-loop threads every millisecond while a test runs. Vert.x's own
 * blocked-thread checker only sees a loop held for longer than its threshold (2 s by default); a JDBC call to a local
 * database takes well under a millisecond, so this detector looks at what the loop is doing instead of how long it
 * takes. It catches a blocking call with a probability that grows with how often the call runs and how long it takes:
 * over a contract run (hundreds of calls) a backend that always blocks is caught; one that blocks rarely may pass.
 * Class loading and initialisation, logging and {@code SecureRandom} (which read jars, write to the console and read
 * {@code /dev/urandom} on any thread) are not counted, nor is the creation of the backend by {@link BackendSpiContract}
 * (start-up: {@link dev.vertxsessions.SessionBackendFactory#create} may check a directory).
 */
public final class EventLoopBlockingDetector implements BeforeEachCallback, AfterEachCallback {

    private static final String EVENT_LOOP_PREFIX = "vert.x-eventloop-thread-";

    /** Classes whose frames mean the thread is blocked on I/O or asleep (matched as prefixes of the class name). */
    private static final List<String> BLOCKING_FRAMES = List.of(
            "sun.nio.ch.NioSocketImpl", // java.net.Socket I/O (JDBC drivers, blocking HTTP clients)
            "java.net.SocketInputStream",
            "java.net.SocketOutputStream",
            "java.io.FileInputStream",
            "java.io.FileOutputStream",
            "java.io.RandomAccessFile",
            "sun.nio.ch.FileChannelImpl",
            "sun.nio.fs.UnixNativeDispatcher", // java.nio.file.Files on Linux and macOS
            "sun.nio.fs.WindowsNativeDispatcher");

    /** Frames that do I/O on any thread and are not the backend's doing. */
    private static final List<String> EXEMPT_FRAMES = List.of(
            "java.lang.ClassLoader",
            "jdk.internal.loader.",
            "java.util.zip.",
            "java.util.jar.",
            "java.io.PrintStream",
            "java.util.logging.",
            "org.slf4j.",
            "ch.qos.logback.",
            "org.apache.logging.log4j.",
            "io.vertx.core.logging.",
            "sun.security.provider."); // SecureRandom refilling its buffer from /dev/urandom: never blocks for long

    private static final Map<String, Boolean> JDBC_CLASSES = new ConcurrentHashMap<>();

    private final List<String> findings = new CopyOnWriteArrayList<>();
    private volatile Thread sampler;

    @Override
    public void beforeEach(ExtensionContext context) {
        findings.clear();
        Thread thread = new Thread(this::sample, "vertx-sessions-testkit-blocking-detector");
        thread.setDaemon(true);
        sampler = thread;
        thread.start();
    }

    @Override
    public void afterEach(ExtensionContext context) throws InterruptedException {
        Thread thread = sampler;
        sampler = null;
        if (thread != null) {
            thread.interrupt();
            thread.join(1_000);
        }
        if (!findings.isEmpty()) {
            throw new AssertionError("the backend blocked a Vert.x event loop (" + findings.size()
                    + " samples); run blocking calls off the event loop, e.g. with vertx.executeBlocking(...) or a "
                    + "worker pool, or use an asynchronous client. First sample:\n" + findings.get(0));
        }
    }

    private void sample() {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long[] eventLoops = new long[0];
        for (int round = 0; sampler == Thread.currentThread(); round++) {
            if (round % 50 == 0) { // event loops start lazily: look for new ones every 50 samples
                eventLoops = eventLoopIds(threads);
            }
            for (ThreadInfo info : threads.getThreadInfo(eventLoops, 64)) {
                String finding = info == null ? null : blockingFrame(info);
                if (finding != null && findings.size() < 10) {
                    findings.add(finding);
                }
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private static long[] eventLoopIds(ThreadMXBean threads) {
        List<Long> ids = new ArrayList<>();
        for (ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds(), 0)) {
            if (info != null && info.getThreadName().startsWith(EVENT_LOOP_PREFIX)) {
                ids.add(info.getThreadId());
            }
        }
        return ids.stream().mapToLong(Long::longValue).toArray();
    }

    /** Returns a description of the blocking call {@code info}'s stack shows, or null. */
    private static String blockingFrame(ThreadInfo info) {
        StackTraceElement[] stack = info.getStackTrace();
        String culprit = null;
        for (StackTraceElement frame : stack) {
            String type = frame.getClassName();
            if (startsWithAny(type, EXEMPT_FRAMES) || frame.getMethodName().equals("<clinit>")) {
                return null; // class loading and initialisation happen once, whatever thread comes first
            }
            if (type.equals(BackendSpiContract.class.getName())
                    && frame.getMethodName().equals("createBackend")) {
                return null; // the backend's creation: start-up, where brief local work is allowed
            }
            if (culprit == null && (startsWithAny(type, BLOCKING_FRAMES) || isSleep(frame) || isJdbc(type))) {
                culprit = type + "." + frame.getMethodName();
            }
        }
        if (culprit == null) {
            return null;
        }
        List<String> lines = new ArrayList<>();
        lines.add(info.getThreadName() + " was in " + culprit + ":");
        for (int i = 0; i < Math.min(stack.length, 24); i++) {
            lines.add("    at " + stack[i]);
        }
        return String.join("\n", lines);
    }

    private static boolean isSleep(StackTraceElement frame) {
        return frame.getClassName().equals("java.lang.Thread")
                && frame.getMethodName().startsWith("sleep");
    }

    /** Returns whether {@code type} implements a JDBC interface (a driver's connection, statement or result set). */
    private static boolean isJdbc(String type) {
        if (type.startsWith("java.") || type.startsWith("jdk.") || type.startsWith("sun.") || type.startsWith("io.")) {
            return false;
        }
        return JDBC_CLASSES.computeIfAbsent(type, name -> {
            try {
                Class<?> loaded =
                        Class.forName(name, false, Thread.currentThread().getContextClassLoader());
                for (String jdbc : List.of("java.sql.Connection", "java.sql.Statement", "java.sql.ResultSet")) {
                    Class<?> api = Class.forName(jdbc);
                    if (api.isAssignableFrom(loaded)) {
                        return true;
                    }
                }
                return false;
            } catch (ClassNotFoundException | LinkageError e) {
                return false; // a class of another loader, or java.sql absent: not a driver we can recognise
            }
        });
    }

    private static boolean startsWithAny(String type, List<String> prefixes) {
        for (String prefix : prefixes) {
            if (type.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }
}
