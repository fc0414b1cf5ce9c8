/** The session store in Vert.x health checks ({@code vertx-health-check}, an optional dependency). */
package dev.vertxsessions.health;
