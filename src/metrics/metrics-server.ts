import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { metricsHandler } from './http-handler.js';

export interface MetricsServerOptions {
  /** Usually `db.metrics`. */
  registry: Registry;
  /** TCP port; 0 (the default) picks a free one (read it back from `url`). */
  port?: number;
  /** Interface to bind (default `127.0.0.1`; use `0.0.0.0` in a container). */
  host?: string;
  /** Path served (default `/metrics`). */
  path?: string;
  /** Told why collecting failed (the 500 does not echo it); see `MetricsHandlerOptions.onError`. */
  onError?: (error: unknown) => void;
}

export interface MetricsServer {
  /** The full scrape URL, e.g. `http://127.0.0.1:9464/metrics`. */
  url: string;
  port: number;
  /** Stops listening and ends open connections. Idempotent. */
  close(): Promise<void>;
}

/** A tiny HTTP server with nothing but the `/metrics` endpoint, for Prometheus to scrape. */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1';
  const path = options.path ?? '/metrics';
  const server = createServer(metricsHandler(options.registry, { path, onError: options.onError }));
  // Scrapes are short requests; keep-alive sockets must not hold close() open.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}${path}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
