/**
 * `mxo-data/metrics`: what a district server needs to expose the library's Prometheus metrics
 * (the families are registered by `openCluster` in the registry it is given; see
 * docs/observability.md).
 */
export { createMetrics, type Metrics } from './metrics.js';
export { metricsHandler, type MetricsHandlerOptions } from './http-handler.js';
export { startMetricsServer, type MetricsServer, type MetricsServerOptions } from './metrics-server.js';
