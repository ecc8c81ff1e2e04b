import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import type { FieldIssue } from '../errors.js';
import type { NodeTls } from '../pool/connection-options.js';
import type { NodeInput, TlsInput } from './schema.js';

/** A resolved database node: everything needed to open a connection. */
export interface NodeAddress {
  host: string;
  port: number;
  user: string;
  password: string | undefined;
  database: string;
  /** TLS settings (PEM text, files already read); absent: no TLS. */
  tls?: NodeTls;
}

/** Environment variable consulted when a node names no password at all. */
export const DEFAULT_PASSWORD_ENV = 'MXO_DB_PASSWORD';

/**
 * Resolves a node given as URL or object. Passwords come from, in order: the object's
 * `passwordEnv` variable, an explicit password (URL or object), then `MXO_DB_PASSWORD`.
 * Returns issues instead of throwing so the caller can report every bad field at once.
 */
export function resolveNode(
  input: NodeInput,
  field: string,
  env: NodeJS.ProcessEnv = process.env,
  clusterTls?: TlsInput,
): NodeAddress | FieldIssue {
  const tlsInput = typeof input !== 'string' && input.tls !== undefined ? input.tls : clusterTls;
  const tls = tlsInput === undefined || tlsInput === false ? undefined : resolveTls(tlsInput, typeof input !== 'string' && input.tls !== undefined ? `${field}.tls` : 'tls');
  if (tls && 'field' in tls) return tls;
  const address = resolveAddress(input, field, env);
  if (!('field' in address) && tls) address.tls = tls;
  return address;
}

/** TLS settings with the named files read (a file that cannot be read is an issue naming it). */
export function resolveTls(input: TlsInput, field: string): NodeTls | FieldIssue {
  if (input === true) return { rejectUnauthorized: true };
  const out: NodeTls = { rejectUnauthorized: input.rejectUnauthorized !== false, verifyIdentity: input.verifyIdentity !== false };
  for (const part of ['ca', 'cert', 'key'] as const) {
    const file = input[`${part}File`];
    if (input[part] !== undefined && file !== undefined) return { field: `${field}.${part}File`, message: `give ${part} or ${part}File, not both` };
    if (file !== undefined) {
      try {
        out[part] = readFileSync(file, 'utf8');
      } catch (error) {
        return { field: `${field}.${part}File`, message: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}` };
      }
    } else if (input[part] !== undefined) out[part] = input[part];
  }
  if ((out.cert === undefined) !== (out.key === undefined)) return { field: `${field}.key`, message: 'a client certificate needs its key (and the key its certificate)' };
  return out;
}

function resolveAddress(input: NodeInput, field: string, env: NodeJS.ProcessEnv): NodeAddress | FieldIssue {
  if (typeof input !== 'string') {
    if (input.passwordEnv !== undefined && env[input.passwordEnv] === undefined) {
      return { field: `${field}.passwordEnv`, message: `environment variable ${input.passwordEnv} is not set` };
    }
    const password = input.passwordEnv !== undefined ? env[input.passwordEnv] : input.password;
    return masked({
      host: input.host,
      port: input.port ?? 3306,
      user: input.user,
      password: password ?? env[DEFAULT_PASSWORD_ENV],
      database: input.database,
    });
  }
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return { field, message: `malformed URL "${redact(input)}" (expected mysql://user@host:port/database)` };
  }
  if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') {
    return { field, message: `URL scheme must be mysql: or mariadb:, got ${url.protocol}` };
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(database)) {
    return { field, message: 'URL must name a database (letters, digits or _) in its path' };
  }
  if (!url.username) return { field, message: 'URL must name a user' };
  if (!url.hostname) return { field, message: 'URL must name a host' };
  const port = url.port ? Number(url.port) : 3306;
  return masked({
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port,
    user: decodeURIComponent(url.username),
    password: url.password ? decodeURIComponent(url.password) : env[DEFAULT_PASSWORD_ENV],
    database,
  });
}

/**
 * Hides the password of a URL, even one with `/`, `@` or `:` in it (the greedy match runs to the
 * last `@`, which ends the userinfo; a URL that never parsed may have anything there).
 */
export function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*):.*@/is, '$1:***@');
}

/**
 * The address with its password still readable (connections need it) but shown as `***` by
 * `console.log`/`util.inspect` and `JSON.stringify`, so logging a config or a pool leaks nothing.
 */
export function masked(address: NodeAddress): NodeAddress {
  const shown = () => ({
    ...address,
    password: address.password === undefined ? undefined : '***',
    ...(address.tls?.key ? { tls: { ...address.tls, key: '***' } } : {}),
  });
  Object.defineProperty(address, 'toJSON', { value: shown, enumerable: false });
  Object.defineProperty(address, inspect.custom, {
    value: (_depth: number, options: object) => `NodeAddress ${inspect(shown(), options)}`,
    enumerable: false,
  });
  return address;
}

/** `host:port/database`, for messages and labels (never includes the password). */
export function describeNode(node: NodeAddress): string {
  return `${node.host}:${node.port}/${node.database}`;
}
