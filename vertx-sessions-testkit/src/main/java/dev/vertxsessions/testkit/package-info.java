/**
 * The backend test kit: the contract every vertx-sessions backend passes, for authors of backends outside this
 * repository. {@link dev.vertxsessions.testkit.BackendContract} drives a backend through the middleware over real
 * HTTP; extend it in a JUnit 5 test and return the backend's configuration.
 */
package dev.vertxsessions.testkit;
