package dev.vertxsessions;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.Set;

/** Finds backends: by {@link ServiceLoader} name, or by class name, and creates the one a configuration names. */
final class BackendProviders {

    private BackendProviders() {}

    /** Returns the providers on the class path by name; looked up each time, so a new class loader is seen. */
    static Map<String, SessionBackendProvider> all() {
        Map<String, SessionBackendProvider> providers = new LinkedHashMap<>();
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        try {
            for (SessionBackendProvider provider : ServiceLoader.load(
                    SessionBackendProvider.class, loader != null ? loader : BackendProviders.class.getClassLoader())) {
                providers.putIfAbsent(provider.name(), provider);
            }
        } catch (ServiceConfigurationError e) {
            throw new IllegalArgumentException(
                    "a session backend on the class path could not be loaded: " + rootMessage(e), e);
        }
        return providers;
    }

    /** Returns every top-level JSON key a backend on the class path reads. */
    static Set<String> jsonKeys() {
        Set<String> keys = new LinkedHashSet<>();
        for (SessionBackendProvider provider : all().values()) {
            keys.addAll(provider.jsonKeys());
        }
        return Collections.unmodifiableSet(keys);
    }

    /** Creates the backend the (validated) configuration chooses. */
    static SessionBackend create(Vertx vertx, SessionConfig config) {
        if (config.getBackend() != null) {
            return config.getBackend().create(vertx, config);
        }
        String name = config.getManagerName();
        Map<String, SessionBackendProvider> providers = all();
        SessionBackendProvider provider = providers.get(name);
        if (provider != null) {
            JsonObject all = config.getBackendOptions();
            JsonObject own = new JsonObject();
            for (String key : provider.jsonKeys()) {
                if (all.containsKey(key)) {
                    own.put(key, all.getValue(key));
                }
            }
            return provider.create(vertx, config, own);
        }
        return byClassName(vertx, config, name, providers.keySet());
    }

    private static SessionBackend byClassName(Vertx vertx, SessionConfig config, String className, Set<String> names) {
        Class<?> type;
        try {
            type = Class.forName(className, true, Thread.currentThread().getContextClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            throw new IllegalArgumentException(
                    "manager must be one of " + String.join(", ", names) + " or the name of a "
                            + "class on the class path; no backend or class '" + className + "' was found",
                    e);
        }
        if (!BaseSessionInterface.class.isAssignableFrom(type)) {
            // One way per audience: a class name is the seed's way ("manager": the session class); a SessionBackend
            // is chosen by its provider's name (ServiceLoader) or, in code, with setBackend(factory).
            throw new IllegalArgumentException("manager class " + className + " must implement load() and save() by "
                    + "extending BaseSessionInterface, the seed's way; a SessionBackend is chosen by the name of its "
                    + "SessionBackendProvider, or in code with setBackend(factory)");
        }
        Constructor<?> constructor;
        try {
            constructor = type.getConstructor();
        } catch (NoSuchMethodException e) {
            throw new IllegalArgumentException(
                    "manager class " + className + " needs a public no-argument constructor", e);
        }
        SessionManager sessions = () -> (BaseSessionInterface) instantiate(constructor, className);
        return new SeedSessionBackend(vertx, config, sessions);
    }

    /** Calls a no-argument constructor; a constructor that throws is reported with its own exception. */
    private static Object instantiate(Constructor<?> constructor, String className) {
        try {
            return constructor.newInstance();
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            throw new IllegalArgumentException(
                    "manager class " + className + ": its constructor threw " + cause, cause);
        } catch (ReflectiveOperationException e) {
            throw new IllegalArgumentException("manager class " + className + " could not be instantiated: " + e, e);
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.toString();
    }
}
