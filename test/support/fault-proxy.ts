/**
 * A TCP proxy in front of one MariaDB server that misbehaves on cue, the way a network does: the
 * library connects to the proxy's port instead of the server's. One proxy per server; every
 * fault applies to the connections already open and to new ones.
 *
 * Whole-proxy modes ({@link FaultProxy.set}):
 * - `pass`: bytes flow both ways.
 * - `blackhole`: nothing is forwarded either way, new connections are accepted and never
 *   answered; the bytes are held (neither side learns anything, not even a close), as TCP holds
 *   them through a partition, and flow again on `heal()`.
 * - `delay`: every chunk waits `ms` before it is forwarded (in order), in one direction or both.
 * - `half-open`: one direction is cut; its bytes are lost and a close from that side is not
 *   passed on (the peer keeps a socket whose other end is gone). A connection that lost bytes this
 *   way stays cut in that direction after `heal()`: its stream can never be whole again.
 * {@link FaultProxy.reset} sends an RST both ways on every open connection (mid-statement when a
 * statement is in flight), and {@link FaultProxy.arm} fires a fault at one statement: the proxy
 * reads the client's MySQL packets (3-byte length, sequence id, payload) and matches the SQL text
 * of COM_QUERY and COM_STMT_PREPARE commands (`XA PREPARE ...`, `COMMIT`).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export type Direction = 'to-server' | 'to-client';

export type FaultMode =
  | { kind: 'pass' }
  | { kind: 'blackhole' }
  | { kind: 'delay'; ms: number; direction?: Direction | 'both' }
  | { kind: 'half-open'; cut: Direction };

/**
 * What an armed trigger does to the connection that sent the matching statement:
 * - `reset` / `close`: cut it with an RST / a FIN, both ways;
 * - `stall`: this connection forwards nothing more either way, ever (its peers never hear of it
 *   again: a connection blackholed for good; the others are untouched).
 */
export type CutAction = 'reset' | 'close' | 'stall';

/**
 * When the action happens relative to the matching statement:
 * - `before`: the statement never reaches the server;
 * - `sent`: right after the statement is forwarded (the server may or may not have run it);
 * - `answered`: when the server's answer arrives, which is lost (the server ran it).
 */
export type CutPoint = 'before' | 'sent' | 'answered';

export interface Trigger {
  /**
   * Matched against the statement's SQL text (a string is a case-insensitive prefix). Omitted:
   * every command matches, prepared executions included (a cut mid-statement, whatever it is).
   */
  match?: RegExp | string;
  /** Only this kind of command: a text query (COM_QUERY) or a statement being prepared (COM_STMT_PREPARE). */
  command?: 'query' | 'prepare';
  at: CutPoint;
  action: CutAction;
  /** How many matching statements it fires on (default 1). */
  times?: number;
  /**
   * When it fires, every other open connection is closed too: the node becomes unreachable as a
   * whole (pair with `refuseNew`), so an idle pooled connection cannot settle the outcome.
   */
  othersToo?: boolean;
}

export interface ArmedTrigger {
  /** The statements it fired on so far. */
  readonly fired: string[];
  /** Stops it firing again. */
  disarm(): void;
}

const COM_QUERY = 0x03;
const COM_STMT_PREPARE = 0x16;
const ALL: Direction[] = ['to-server', 'to-client'];

/** One direction of one connection: the chunks on their way, in order. */
interface Lane {
  from: Socket;
  to: Socket;
  queue: Array<{ chunk?: Buffer; due: number; then?: () => void }>;
  timer?: NodeJS.Timeout;
  /** Lost bytes in a half-open window: cut for good. */
  severed: boolean;
  /** A trigger's `stall`: this lane forwards nothing any more. */
  stalled: boolean;
  /** The source has closed (a close marker is queued or was passed on). */
  ended: boolean;
}

interface Link {
  client: Socket;
  upstream: Socket;
  lanes: Record<Direction, Lane>;
  /** The client's unparsed bytes (an incomplete packet). */
  pending: Buffer;
  /** Cut the connection when the server's next answer arrives (a trigger's `answered`). */
  onAnswer?: CutAction;
}

export class FaultProxy {
  port = 0;
  /** New connections are closed at once (the server looks down: connection refused). */
  refuseNew = false;
  /** Counts of what happened, for the test's report. */
  readonly stats = { connections: 0, resets: 0, triggered: 0 };
  private mode: FaultMode = { kind: 'pass' };
  private server: Server | undefined;
  private readonly links = new Set<Link>();
  private readonly triggers = new Set<Trigger & { left: number; fired: string[] }>();

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Starts a proxy on a free local port in front of `target`. */
  static async start(target: { host: string; port: number }): Promise<FaultProxy> {
    const proxy = new FaultProxy(target.host, target.port);
    proxy.server = createServer((client) => proxy.accept(client));
    await new Promise<void>((resolve) => proxy.server!.listen(0, '127.0.0.1', resolve));
    proxy.port = (proxy.server.address() as { port: number }).port;
    return proxy;
  }

  /** The mode in force. */
  get current(): FaultMode {
    return this.mode;
  }

  /** Switches mode for every open and future connection. */
  set(mode: FaultMode): void {
    this.mode = mode;
    for (const link of this.links) for (const d of ALL) this.pump(link, d);
  }

  /** Back to `pass`: held bytes flow again (connections cut by half-open stay cut). */
  heal(): void {
    this.set({ kind: 'pass' });
  }

  /** RST on both sides of every open connection. Returns how many connections were reset. */
  reset(): number {
    const n = this.links.size;
    for (const link of [...this.links]) this.cut(link, 'reset');
    return n;
  }

  /** Arms a fault for the next matching statement(s) on any connection. */
  arm(trigger: Trigger): ArmedTrigger {
    const armed = { ...trigger, left: trigger.times ?? 1, fired: [] as string[] };
    this.triggers.add(armed);
    return { fired: armed.fired, disarm: () => this.triggers.delete(armed) };
  }

  /** Open connections. */
  get open(): number {
    return this.links.size;
  }

  /** Destroys every connection and stops listening. */
  async close(): Promise<void> {
    this.triggers.clear();
    for (const link of [...this.links]) this.cut(link, 'close');
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: Socket): void {
    client.on('error', () => {});
    if (this.refuseNew) {
      client.destroy();
      return;
    }
    this.stats.connections++;
    const upstream = connect(this.targetPort, this.targetHost);
    upstream.on('error', () => {});
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const lane = (from: Socket, to: Socket): Lane => ({ from, to, queue: [], severed: false, stalled: false, ended: false });
    const link: Link = {
      client,
      upstream,
      lanes: { 'to-server': lane(client, upstream), 'to-client': lane(upstream, client) },
      pending: Buffer.alloc(0),
    };
    this.links.add(link);
    client.on('data', (chunk: Buffer) => this.fromClient(link, chunk));
    upstream.on('data', (chunk: Buffer) => {
      if (link.onAnswer) return this.cut(link, link.onAnswer);
      this.push(link, 'to-client', chunk);
    });
    // A close is queued behind the data before it, and is subject to the same faults.
    client.on('close', () => this.push(link, 'to-server', undefined));
    upstream.on('close', () => this.push(link, 'to-client', undefined));
  }

  /** Splits the client's stream into packets, so a trigger can act before, with or after one. */
  private fromClient(link: Link, chunk: Buffer): void {
    link.pending = link.pending.length ? Buffer.concat([link.pending, chunk]) : chunk;
    while (link.pending.length >= 4) {
      const length = link.pending.readUIntLE(0, 3);
      if (link.pending.length < 4 + length) break;
      const packet = link.pending.subarray(0, 4 + length);
      link.pending = link.pending.subarray(4 + length);
      const trigger = this.matchTrigger(packet);
      if (!trigger) {
        this.push(link, 'to-server', packet);
        continue;
      }
      this.stats.triggered++;
      if (trigger.othersToo) for (const other of [...this.links]) if (other !== link) this.cut(other, 'close');
      if (trigger.at === 'before') return this.cut(link, trigger.action);
      if (trigger.at === 'answered') {
        link.onAnswer = trigger.action;
        this.push(link, 'to-server', packet);
      } else {
        this.push(link, 'to-server', packet, () => this.cut(link, trigger.action));
      }
    }
  }

  /** The armed trigger a command packet (sequence id 0) fires, if any. */
  private matchTrigger(packet: Buffer): Trigger | undefined {
    if (this.triggers.size === 0 || packet.length < 5 || packet[3] !== 0) return undefined;
    const hasSql = packet[4] === COM_QUERY || packet[4] === COM_STMT_PREPARE;
    const sql = hasSql ? packet.subarray(5).toString('utf8').trim() : `(command 0x${packet[4]!.toString(16)})`;
    for (const t of this.triggers) {
      const { match, command } = t;
      if (command && packet[4] !== (command === 'query' ? COM_QUERY : COM_STMT_PREPARE)) continue;
      const hit =
        match === undefined || (hasSql && (typeof match === 'string' ? sql.toUpperCase().startsWith(match.toUpperCase()) : match.test(sql)));
      if (!hit) continue;
      t.fired.push(sql);
      if (--t.left <= 0) this.triggers.delete(t);
      return t;
    }
    return undefined;
  }

  /** Queues a chunk (undefined: the source closed) on a lane, subject to the mode in force. */
  private push(link: Link, direction: Direction, chunk: Buffer | undefined, then?: () => void): void {
    const lane = link.lanes[direction];
    if (lane.ended) return;
    if (chunk === undefined) lane.ended = true;
    const mode = this.mode;
    if (lane.severed || lane.stalled || (mode.kind === 'half-open' && mode.cut === direction)) {
      // Lost on the way; the peer never learns of it (not even of a close).
      lane.severed = !lane.stalled;
      if (chunk === undefined) this.forgetIfGone(link);
      return;
    }
    const delayed = mode.kind === 'delay' && (mode.direction ?? 'both') !== opposite(direction);
    const delay = delayed ? mode.ms : 0;
    lane.queue.push({ chunk, due: Date.now() + delay, then });
    this.pump(link, direction);
  }

  /** Forwards what is due on a lane, in order; holds everything while blackholed. */
  private pump(link: Link, direction: Direction): void {
    const lane = link.lanes[direction];
    clearTimeout(lane.timer);
    lane.timer = undefined;
    if (this.mode.kind === 'blackhole' || lane.stalled) {
      // Hold the bytes, and stop reading: the sender's buffers fill as they would on a dead link.
      lane.from.pause();
      return;
    }
    lane.from.resume();
    const now = Date.now();
    while (lane.queue.length > 0 && lane.queue[0]!.due <= now) {
      const { chunk, then } = lane.queue.shift()!;
      if (chunk === undefined) {
        lane.to.destroy();
        this.forgetIfGone(link);
        return;
      }
      if (!lane.to.destroyed) lane.to.write(chunk);
      then?.();
    }
    if (lane.queue.length > 0) lane.timer = setTimeout(() => this.pump(link, direction), lane.queue[0]!.due - now);
  }

  /** Ends a connection both ways: RST, FIN, or (stall) silence from here on. */
  private cut(link: Link, action: CutAction): void {
    if (action === 'stall') {
      for (const d of ALL) {
        link.lanes[d].stalled = true;
        link.lanes[d].queue = [];
        this.pump(link, d);
      }
      return;
    }
    if (action === 'reset') this.stats.resets++;
    for (const d of ALL) {
      const lane = link.lanes[d];
      clearTimeout(lane.timer);
      lane.queue = [];
      lane.ended = true;
    }
    for (const s of [link.client, link.upstream]) {
      if (s.destroyed) continue;
      // resetAndDestroy needs a connected socket; one still connecting is just destroyed.
      if (action === 'reset' && !s.connecting) s.resetAndDestroy();
      else s.destroy();
    }
    this.links.delete(link);
  }

  /** Drops a connection from the set once both of its sockets are closed. */
  private forgetIfGone(link: Link): void {
    if (link.client.destroyed && link.upstream.destroyed) this.links.delete(link);
  }
}

function opposite(direction: Direction): Direction {
  return direction === 'to-server' ? 'to-client' : 'to-server';
}

/**
 * The cluster config with each proxied node's address replaced by its proxy's port: `proxies`
 * maps a server's `host:port` to the proxy in front of it. Node URLs only (as the sandbox gives).
 */
export function throughProxies<C extends { global: { primary: unknown; replicas?: unknown[] }; shards: Array<{ primary: unknown; replicas?: unknown[] }> }>(
  config: C,
  proxies: Map<string, FaultProxy>,
): C {
  const via = (node: unknown): unknown => {
    if (typeof node !== 'string') throw new Error('throughProxies expects node URLs');
    const url = new URL(node);
    const proxy = proxies.get(`${url.hostname}:${url.port}`);
    if (!proxy) return node;
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    return url.toString();
  };
  return {
    ...config,
    global: { ...config.global, primary: via(config.global.primary), replicas: (config.global.replicas ?? []).map(via) },
    shards: config.shards.map((s) => ({ ...s, primary: via(s.primary), replicas: (s.replicas ?? []).map(via) })),
  };
}
