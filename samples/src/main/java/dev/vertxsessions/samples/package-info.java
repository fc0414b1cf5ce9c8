/**
 * The demo application: every example of the seed guide, runnable with {@code mvn -q test-compile exec:java}
 * from the repository root (then open http://localhost:8080). {@link dev.vertxsessions.samples.DemoApp} wires
 * the examples ({@code BasicExamples}, {@code LoginExample}, {@code CartExample}, {@code WizardExample});
 * {@link dev.vertxsessions.samples.DemoSettings} reads the environment; {@link
 * dev.vertxsessions.samples.KeyValueSessionInterface} is the custom-backend example written the seed's way, and
 * {@link dev.vertxsessions.samples.postgres} a complete backend on the SPI ({@code SESSION_BACKEND=postgres}).
 * Everything here uses the public API only.
 */
package dev.vertxsessions.samples;
