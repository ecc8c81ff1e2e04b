import * as net from 'node:net';
import { SandboxError } from './topology.js';

const HOST = '127.0.0.1';

/**
 * Ports for sandbox servers are taken below the kernel's ephemeral range (32768-60999 on Linux):
 * a port from that range, freed while its server is killed for a restart test, can be taken by
 * any outgoing connection meanwhile, and the restarted server then fails to bind it.
 */
const PORT_RANGE = { low: 20_000, high: 32_767 };

/** Distinct free TCP ports on 127.0.0.1 (probed by binding, all held open at once, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let tries = 0; ports.length < n; tries++) {
      if (tries > 1_000) throw new SandboxError(`no free port in ${PORT_RANGE.low}-${PORT_RANGE.high}`);
      const port = PORT_RANGE.low + Math.floor(Math.random() * (PORT_RANGE.high - PORT_RANGE.low + 1));
      if (ports.includes(port)) continue;
      const srv = net.createServer();
      const bound = await new Promise<boolean>((resolve) => {
        srv.once('error', () => resolve(false));
        srv.listen(port, HOST, () => resolve(true));
      });
      if (!bound) continue;
      servers.push(srv);
      ports.push(port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
