/**
 * Child process for test/hardening-metrics-http.test.ts: starts the metrics server on a free port,
 * prints the port, and keeps running until stdin closes. If a request ends the process, the test sees it.
 */
import { Registry } from 'prom-client';
import { startMetricsServer } from '../../src/metrics/metrics-server.js';

const server = await startMetricsServer({ registry: new Registry() });
process.stdout.write(`${server.port}\n`);
process.stdin.resume();
process.stdin.on('end', () => void server.close().then(() => process.exit(0)));
