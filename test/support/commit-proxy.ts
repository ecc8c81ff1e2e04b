/**
 * A TCP proxy in front of one MariaDB server that can lose a COMMIT or its acknowledgement, for
 * tests of the ambiguous commit point. It reads the client's MySQL packets (3-byte length,
 * sequence byte, payload); a COM_QUERY whose text is COMMIT triggers the armed fault once:
 * - 'drop-commit': the COMMIT never reaches the server; both sockets close (the server rolls back);
 * - 'drop-ack': the COMMIT reaches the server, which answers; the answer is swallowed and both
 *   sockets close (the server committed, the client cannot know).
 * `refuseNew` makes the proxy close every new connection at once (the node looks unreachable); set
 * when a fault fires, the other open connections are closed too.
 */
import * as net from 'node:net';

export type CommitFault = 'drop-commit' | 'drop-ack';

export interface CommitProxy {
  port: number;
  /** Arms a fault for the next COMMIT seen on any connection. */
  arm(fault: CommitFault): void;
  /** The fault that fired since the last arm(), if any. */
  fired(): CommitFault | undefined;
  refuseNew: boolean;
  close(): Promise<void>;
}

const COM_QUERY = 0x03;

export async function startCommitProxy(target: { host: string; port: number }): Promise<CommitProxy> {
  let armed: CommitFault | undefined;
  let fired: CommitFault | undefined;
  const sockets = new Set<net.Socket>();
  const state = { refuseNew: false };
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    if (state.refuseNew) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => {});
    client.on('close', () => upstream.destroy());
    let swallowNextAnswer = false;
    upstream.on('data', (chunk) => {
      if (swallowNextAnswer) {
        // The server has answered the COMMIT: lose the answer and the connection.
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    let pending = Buffer.alloc(0);
    client.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4) {
        const length = pending.readUIntLE(0, 3);
        if (pending.length < 4 + length) break;
        const packet = pending.subarray(0, 4 + length);
        pending = pending.subarray(4 + length);
        const isCommit = length > 1 && packet[4] === COM_QUERY && packet.subarray(5).toString('utf8').trim().toUpperCase() === 'COMMIT';
        if (isCommit && armed) {
          fired = armed;
          armed = undefined;
          // An unreachable node loses every connection, not only new ones: an idle pooled one
          // must not settle the outcome behind the test's back.
          if (state.refuseNew) for (const s of sockets) if (s !== client && s !== upstream) s.destroy();
          if (fired === 'drop-commit') {
            client.destroy();
            upstream.destroy();
            return;
          }
          swallowNextAnswer = true;
        }
        upstream.write(packet);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    arm(fault) {
      armed = fault;
      fired = undefined;
    },
    fired: () => fired,
    get refuseNew() {
      return state.refuseNew;
    },
    set refuseNew(v: boolean) {
      state.refuseNew = v;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
