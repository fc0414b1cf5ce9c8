package dev.vertxsessions.security;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.text.MessageFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Captures java.util.logging records (System.Logger and Vert.x log there by default) while open, with messages,
 * parameters and stack traces rendered as text: every level of this library, and of Vert.x and Netty too when asked
 * (their FINEST tracing is voluminous, so only tests that look for leaks in every line ask).
 */
public final class LogCapture extends Handler implements AutoCloseable {

    private static final String[] ALL_LOGGERS = {"dev.vertxsessions", "io.vertx", "io.netty"};

    private final List<LogRecord> records = new ArrayList<>();
    private final Logger root = Logger.getLogger("");
    private final Level[] previousLevels;
    /** Strong references: java.util.logging forgets the level of a logger nobody references. */
    private final Logger[] loggers;

    private final String[] loud;

    /** Starts capturing: this library at every level, and Vert.x and Netty too when {@code everything}. */
    public LogCapture(boolean everything) {
        loud = everything ? ALL_LOGGERS : new String[] {"dev.vertxsessions"};
        previousLevels = new Level[loud.length];
        loggers = new Logger[loud.length];
        setLevel(Level.ALL);
        for (int i = 0; i < loud.length; i++) {
            loggers[i] = Logger.getLogger(loud[i]);
            previousLevels[i] = loggers[i].getLevel();
            loggers[i].setLevel(Level.ALL);
        }
        root.addHandler(this);
    }

    @Override
    public synchronized void publish(LogRecord record) {
        records.add(record);
    }

    /** Returns every captured record as text: logger, level, formatted message, parameters, stack trace. */
    public synchronized List<String> lines() {
        List<String> lines = new ArrayList<>();
        for (LogRecord record : records) {
            StringBuilder line = new StringBuilder(record.getLoggerName() + " " + record.getLevel() + " ");
            String message = record.getMessage() == null ? "" : record.getMessage();
            try {
                line.append(
                        record.getParameters() == null
                                ? message
                                : MessageFormat.format(message, record.getParameters()));
            } catch (IllegalArgumentException e) {
                line.append(message);
            }
            if (record.getParameters() != null) {
                for (Object parameter : record.getParameters()) {
                    line.append(" | ").append(parameter);
                }
            }
            if (record.getThrown() != null) {
                StringWriter trace = new StringWriter();
                record.getThrown().printStackTrace(new PrintWriter(trace));
                line.append('\n').append(trace);
            }
            lines.add(line.toString());
        }
        return lines;
    }

    /** Returns the captured records at WARNING or above, as text. */
    public synchronized List<String> warnings() {
        List<String> lines = lines();
        List<String> warnings = new ArrayList<>();
        for (int i = 0; i < records.size(); i++) {
            if (records.get(i).getLevel().intValue() >= Level.WARNING.intValue()) {
                warnings.add(lines.get(i));
            }
        }
        return warnings;
    }

    @Override
    public void flush() {}

    @Override
    public void close() {
        root.removeHandler(this);
        for (int i = 0; i < loud.length; i++) {
            loggers[i].setLevel(previousLevels[i]);
        }
    }
}
