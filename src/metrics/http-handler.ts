import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

export interface MetricsHandlerOptions {
  /** Path served (default `/metrics`); every other path answers 404. */
  path?: string;
}

/**
 * A `node:http` request listener serving the registry in the Prometheus text format at
 * `GET /metrics` (HEAD too), with the registry's content type. Mount it in an existing server
 * or use {@link startMetricsServer}. Scrape-time collectors (pool gauges, online characters)
 * run on each request; an error while collecting answers 500 with the message.
 */
export function metricsHandler(registry: Registry, options: MetricsHandlerOptions = {}): RequestListener {
  const path = options.path ?? '/metrics';
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== path) {
      send(res, 404, 'text/plain; charset=utf-8', `not found; metrics are at ${path}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
      return;
    }
    registry.metrics().then(
      (body) => send(res, 200, registry.contentType, req.method === 'HEAD' ? '' : body),
      (error: unknown) => send(res, 500, 'text/plain; charset=utf-8', `collecting metrics failed: ${(error as Error)?.message ?? String(error)}\n`),
    );
  };
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}
