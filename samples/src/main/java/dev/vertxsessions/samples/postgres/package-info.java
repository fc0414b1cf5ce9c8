/**
 * A session backend on PostgreSQL, written against the public backend SPI only: a worked example of a custom
 * backend to copy into an application. Choose it with {@code "manager": "postgres"} and the options under
 * {@code "postgres"} ({@link dev.vertxsessions.samples.postgres.PostgresSessionOptions}), or in code with
 * {@link dev.vertxsessions.samples.postgres.PostgresSessionBackend#factory}. It needs
 * {@code io.vertx:vertx-pg-client}.
 */
package dev.vertxsessions.samples.postgres;
