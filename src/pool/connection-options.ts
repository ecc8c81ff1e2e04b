import type { ConnectionOptions } from 'mysql2/promise';

type SslOptions = Exclude<ConnectionOptions['ssl'], string | undefined>;
import type { NodeAddress } from '../config/node-address.js';
import { MxoError } from '../errors.js';

/**
 * Prepared statements mysql2 keeps open per connection (its default is 16,000). Statements past
 * this are closed least recently used first, so one connection holds at most this many of the
 * server's `max_prepared_stmt_count` (16,382 for the whole server, every client together).
 */
export const MAX_PREPARED_PER_CONNECTION = 128;

/** A server (or something posing as one) asked for the password in cleartext. */
export class CleartextAuthRefusedError extends MxoError {
  constructor(readonly node: string) {
    super('CLEARTEXT_AUTH_REFUSED', `${node} asked for the password in cleartext (mysql_clear_password): refused`);
  }
}

/**
 * The options every connection the library opens uses: the node's address and credentials,
 * TLS when the node asks for it, a bounded prepared-statement cache, and no cleartext password.
 * A server that switches authentication to `mysql_clear_password` gets no answer: a rogue host
 * named by a forged placement must not learn the password (mysql2 3.x refuses it by default;
 * this keeps it refused whatever the driver's defaults become).
 */
export function connectionOptions(address: NodeAddress, extra: ConnectionOptions = {}): ConnectionOptions {
  const node = `${address.host}:${address.port}`;
  return {
    host: address.host,
    port: address.port,
    user: address.user,
    password: address.password,
    ...(address.tls ? { ssl: tlsOptions(address.tls) } : {}),
    maxPreparedStatements: MAX_PREPARED_PER_CONNECTION,
    enableCleartextPlugin: false,
    authPlugins: {
      // Rejected (not thrown): mysql2 then ends the handshake with this error, the password unsent.
      mysql_clear_password: () => () => Promise.reject<Buffer>(new CleartextAuthRefusedError(node)),
    },
    ...extra,
  };
}

/** A node's TLS settings (config `tls`): PEM strings, or files named by `caFile`/... read at config time. */
export interface NodeTls {
  /** The CA certificate(s) the server's certificate must chain to (PEM); the system's when absent. */
  ca?: string;
  /** A client certificate and key (PEM), for servers that require X509. */
  cert?: string;
  key?: string;
  /** Default true: the server's certificate is verified. false only for a lab. */
  rejectUnauthorized?: boolean;
  /** Default true (with rejectUnauthorized): the certificate must name the host connected to. */
  verifyIdentity?: boolean;
}

function tlsOptions(tls: NodeTls): SslOptions {
  return {
    ...(tls.ca ? { ca: tls.ca } : {}),
    ...(tls.cert ? { cert: tls.cert } : {}),
    ...(tls.key ? { key: tls.key } : {}),
    rejectUnauthorized: tls.rejectUnauthorized !== false,
    verifyIdentity: tls.rejectUnauthorized !== false && tls.verifyIdentity !== false,
    minVersion: 'TLSv1.2',
  };
}
