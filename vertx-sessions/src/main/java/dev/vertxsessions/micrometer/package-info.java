/** The middleware's figures in Micrometer ({@code vertx-micrometer-metrics}, an optional dependency). */
package dev.vertxsessions.micrometer;
