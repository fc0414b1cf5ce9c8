package dev.vertxsessions.file;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.security.HostileCookieContract;
import java.nio.file.Path;

/** The hostile-cookie contract for the file backend (path safety has its own test, {@link FilePathSafetyTest}). */
class FileHostileCookieTest extends HostileCookieContract {

    @Override
    protected SessionConfig config(Path directory) {
        return new SessionConfig().setBackend(FileSessionInterface.factory(directory.resolve("sessions"), "session_"));
    }
}
