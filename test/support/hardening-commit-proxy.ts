/**
 * A TCP proxy between the library and a MariaDB server that can lose a connection around a
 * COMMIT: `afterCommit` forwards the COMMIT, waits for the server's answer (so the commit has
 * happened) and drops both sockets instead of passing the answer on; `beforeCommit` drops the
 * connection without forwarding the COMMIT (so the server rolls the transaction back).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

/** COM_QUERY "COMMIT" as mysql2 sends it through the text protocol: 3-byte length, sequence 0, 0x03. */
const COMMIT_PACKET = Buffer.concat([Buffer.from([7, 0, 0, 0, 3]), Buffer.from('COMMIT')]);

export type DropMode = 'pass' | 'afterCommit' | 'beforeCommit';

export class CommitDropProxy {
  /** Applies to the next COMMIT seen on any connection, then falls back to `pass`. */
  mode: DropMode = 'pass';
  drops = 0;
  port = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<number> {
    this.server = createServer((client) => this.pipe(client));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private pipe(client: Socket): void {
    const upstream = connect(this.targetPort, this.targetHost);
    this.sockets.add(client).add(upstream);
    let swallowAnswer = false;
    const drop = () => {
      this.drops++;
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      if (this.mode !== 'pass' && chunk.includes(COMMIT_PACKET)) {
        const mode = this.mode;
        this.mode = 'pass';
        if (mode === 'beforeCommit') return drop();
        swallowAnswer = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => (swallowAnswer ? drop() : client.write(chunk)));
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  }
}
