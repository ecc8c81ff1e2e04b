import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

export interface MetricsHandlerOptions {
  /** Path served (default `/metrics`); every other path answers 404. */
  path?: string;
  /**
   * Told why collecting failed (the 500's body does not say: a collector's error can name hosts,
   * accounts or SQL). Default: `process.emitWarning` (stderr).
   */
  onError?: (error: unknown) => void;
}

/**
 * A `node:http` request listener serving the registry in the Prometheus text format at
 * `GET /metrics` (HEAD too), with the registry's content type. Mount it in an existing server
 * or use {@link startMetricsServer}. Scrape-time collectors (pool gauges, online characters)
 * run on each request; an error while collecting answers a plain 500 (the reason goes to `onError`).
 * Any request gets a status code: a target that is not a plain path answers 400, another path 404,
 * another method 405; the handler never throws (a throw in a `request` listener ends the process).
 */
export function metricsHandler(registry: Registry, options: MetricsHandlerOptions = {}): RequestListener {
  const path = options.path ?? '/metrics';
  return (req: IncomingMessage, res: ServerResponse): void => {
    try {
      const pathname = requestPath(req.url);
      if (pathname === undefined) {
        send(res, 400, 'text/plain; charset=utf-8', 'bad request target\n');
        return;
      }
      if (pathname !== path) {
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
        (error: unknown) => {
          send(res, 500, 'text/plain; charset=utf-8', 'collecting metrics failed\n');
          report(options.onError, error);
        },
      );
    } catch {
      send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
    }
  };
}

/**
 * The path of an origin-form request target (`/metrics?x=1` -> `/metrics`), or undefined for
 * anything else (absolute or authority form, `*`, control characters). No URL parsing: `new URL`
 * throws on targets such as `//[`.
 */
function requestPath(target: string | undefined): string | undefined {
  if (target === undefined || !target.startsWith('/') || target.length > 8192) return undefined;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f]/.test(target)) return undefined;
  const end = target.search(/[?#]/);
  return end === -1 ? target : target.slice(0, end);
}

/** Hands a collector's error to the operator's hook; never throws into the request. */
function report(onError: ((error: unknown) => void) | undefined, error: unknown): void {
  try {
    if (onError) onError(error);
    else process.emitWarning(`collecting metrics failed: ${(error as Error)?.message ?? String(error)}`, 'MxoMetricsWarning');
  } catch {
    // The hook failed; the scrape already has its answer.
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  try {
    if (res.headersSent || res.writableEnded) return;
    res.statusCode = status;
    res.setHeader('Content-Type', contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.end(body);
  } catch {
    // The socket went away; nothing to answer.
    res.destroy();
  }
}
