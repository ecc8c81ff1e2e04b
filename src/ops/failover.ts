import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import type { NodeAddress } from '../config/node-address.js';
import { FailoverRefusedError, ValidationError } from '../errors.js';
import type { NodePool } from '../pool/node-pool.js';
import { gtidPositionCovers } from '../replica/gtid-position.js';
import { formatEndpoints } from '../routing/shard-primaries.js';
import { GLOBAL, type Topology } from '../routing/topology.js';
import type { Coordinator } from '../twopc/coordinator.js';

/** Options of {@link failover}. */
export interface FailoverOptions {
  /** The replica to promote (its node name, e.g. `alpha-replica-2`, or `host:port`); default: the one that applied the most. */
  to?: string;
  /**
   * Promote even when the old primary answers but cannot be fenced, or cannot be told from dead
   * (no answer, not a refused connection), or when the replica chosen lacks transactions another
   * replica or the old primary has. Those transactions are then lost; say so to whoever decides.
   */
  force?: boolean;
  /** How long each replica may take to apply what it has received (default 30 s). */
  catchUpTimeoutMs?: number;
  /** rpl_semi_sync_master_timeout set on the promoted primary when replicas remain (default 5000 ms). */
  semiSyncTimeoutMs?: number;
}

/** What a failover did. */
export interface FailoverResult {
  shard: string;
  /** The `shard_primaries` version recorded on global (every process follows it). */
  version: number;
  promoted: { node: string; address: string; gtidPosition: string };
  /**
   * The old primary: `fenced` (it answered and is read-only now), `unreachable` (connection
   * refused: nothing listens there), or `forced` (neither proven; promoted anyway with `force`).
   */
  oldPrimary: { node: string; address: string; state: 'fenced' | 'unreachable' | 'forced' };
  /** Replicas now following the promoted primary (`host:port`). */
  repointed: string[];
  /** Replicas left out (unreachable, or not replicating from the new primary), with why. */
  skipped: Array<{ address: string; reason: string }>;
  /** Things the operator should know (e.g. replication credentials kept as they were). */
  warnings: string[];
}

/** What a failover needs from the cluster. */
export interface FailoverDeps {
  topology: Topology;
  coordinator: Coordinator;
  env: NodeJS.ProcessEnv;
}

interface Candidate {
  pool: NodePool;
  conn: Connection;
  /** `@@gtid_slave_pos` once it applied everything it had received. */
  position: string;
  /** False when it did not finish applying its relay log in time. */
  caughtUp: boolean;
}

const CONNECT_TIMEOUT_MS = 3_000;
/** How long a repointed replica gets to connect to the promoted primary before it is reported. */
const REPOINT_TIMEOUT_MS = 10_000;

/**
 * Promotes a replica of `shard` to primary (the one that has applied the most, by GTID, unless
 * `to` names one): fences the old primary if it answers (`read_only = ON`, after which every
 * replica waits to receive its last transactions), stops each replica's receiver and lets it apply
 * what it received, promotes the chosen one (replication off, `read_only = OFF`, durable flush
 * settings, semi-sync on when replicas remain), repoints the others to it with
 * `MASTER_USE_GTID = slave_pos`, and records the new nodes on global (`shard_primaries`,
 * versioned): this process follows at once, every other process within its refresh period or at
 * its next write that finds the old primary gone or read-only.
 *
 * Runs with the config's accounts: they need SUPER-class rights on the shard's nodes (STOP SLAVE,
 * CHANGE MASTER, SET GLOBAL): run it as an administrator (the CLI with an admin config). With
 * semi-synchronous replication on, every commit acknowledged to a client is in some replica's relay
 * log, so promoting the replica that applied the most loses nothing acknowledged.
 */
export async function failover(deps: FailoverDeps, shard: string, options: FailoverOptions = {}): Promise<FailoverResult> {
  const { topology } = deps;
  if (!topology.has(shard)) throw new ValidationError('failover', [{ field: 'shard', message: `no shard named "${shard}"` }]);
  const nodes = topology.nodes(shard);
  let target: NodePool | undefined;
  if (options.to !== undefined) {
    target = nodes.replicas.find((r) => r.identity.name === options.to || endpoint(r.address) === options.to);
    if (!target) {
      const known = nodes.replicas.map((r) => `${r.identity.name} (${endpoint(r.address)})`).join(', ') || 'none';
      throw new ValidationError('failover', [{ field: 'to', message: `"${options.to}" is no replica of ${shard}; its replicas: ${known}` }]);
    }
  }
  if (nodes.replicas.length === 0) throw new FailoverRefusedError(shard, 'it has no replica to promote');
  const force = options.force === true;
  const catchUpMs = options.catchUpTimeoutMs ?? 30_000;
  const warnings: string[] = [];
  const skipped: FailoverResult['skipped'] = [];
  const old = nodes.primary;

  // 1. The old primary: fenced if it answers; proceed without proof only when nothing listens.
  const fence = await fenceOldPrimary(old.address);
  if (fence.state === 'unknown' && !force) {
    throw new FailoverRefusedError(
      shard,
      `${old.label} could not be fenced (${fence.reason}): it may still take writes, and promoting a replica now would split the shard. ` +
        'Stop that server (or make sure it can never come back), then run the failover again; or pass force.',
    );
  }
  if (fence.state === 'unknown') warnings.push(`old primary not fenced (${fence.reason}): make sure it never takes writes again`);

  const opened: Connection[] = [];
  try {
    // 2. Every reachable replica applies what it has (and, from a fenced primary, what it lacks).
    const candidates: Candidate[] = [];
    for (const pool of nodes.replicas) {
      const conn = await connect(pool.address).catch((error: Error) => {
        skipped.push({ address: endpoint(pool.address), reason: `unreachable: ${error.message}` });
        return undefined;
      });
      if (!conn) continue;
      opened.push(conn);
      candidates.push(await drain(conn, pool, fence.state === 'fenced' ? fence.position : undefined, catchUpMs));
    }
    if (candidates.length === 0) throw new FailoverRefusedError(shard, 'no replica answers');
    if (target && !candidates.some((c) => c.pool === target)) {
      throw new FailoverRefusedError(shard, `${target.label} does not answer`);
    }

    // 3. The one that applied the most: its position covers every other's.
    const chosen = target ? candidates.find((c) => c.pool === target)! : mostApplied(candidates);
    const problems: string[] = [];
    if (!chosen.caughtUp) problems.push(`${chosen.pool.label} did not finish applying its relay log within ${catchUpMs} ms`);
    for (const other of candidates) {
      if (other !== chosen && !gtidPositionCovers(chosen.position, other.position)) {
        problems.push(`${other.pool.label} applied transactions ${chosen.pool.label} lacks (${other.position} vs ${chosen.position})`);
      }
    }
    if (fence.state === 'fenced' && !gtidPositionCovers(chosen.position, fence.position)) {
      problems.push(`${chosen.pool.label} did not receive everything the old primary has (${fence.position} vs ${chosen.position})`);
    }
    if (problems.length > 0 && !force) {
      // Nothing promoted: put back what the checks changed (the fence, the stopped receivers).
      await undo(old.address, fence, candidates);
      throw new FailoverRefusedError(shard, `${problems.join('; ')}. Pass force to promote it anyway (losing those).`);
    }
    warnings.push(...problems.map((p) => `forced past: ${p}`));

    // 4. Promote: no more replication, writable, durable, semi-sync towards the replicas that remain.
    const others = candidates.filter((c) => c !== chosen);
    const c = chosen.conn;
    await c.query('STOP SLAVE');
    await c.query('RESET SLAVE ALL');
    await c.query('SET GLOBAL sync_binlog = 1');
    await c.query('SET GLOBAL innodb_flush_log_at_trx_commit = 1');
    if (others.length > 0) {
      await c.query("SET GLOBAL rpl_semi_sync_master_wait_point = 'AFTER_SYNC'");
      await c.query('SET GLOBAL rpl_semi_sync_master_timeout = ?', [options.semiSyncTimeoutMs ?? 5_000]);
      await c.query('SET GLOBAL rpl_semi_sync_master_enabled = ON');
    }
    await c.query('SET GLOBAL read_only = OFF');
    const [[promotedAt]] = await c.query<RowDataPacket[]>('SELECT @@GLOBAL.gtid_binlog_pos AS pos');
    const gtidPosition = String(promotedAt?.pos ?? '');

    // 5. The other replicas follow the promoted one from what they applied.
    const replPassword = deps.env.MXO_REPL_PASSWORD;
    if (!replPassword) warnings.push('MXO_REPL_PASSWORD not set: repointed replicas keep their replication user and password');
    const repointed: string[] = [];
    await Promise.all(
      others.map(async (other) => {
        try {
          await repoint(other.conn, chosen.pool.address, replPassword);
          repointed.push(endpoint(other.pool.address));
        } catch (error) {
          skipped.push({ address: endpoint(other.pool.address), reason: `not replicating from the new primary: ${(error as Error).message}` });
        }
      }),
    );

    // 6. Recorded on global, versioned; this process follows now, the others on their next refresh.
    const replicas = nodes.replicas.filter((r) => repointed.includes(endpoint(r.address))).map((r) => ({ host: r.address.host, port: r.address.port }));
    const recorded = { shard, host: chosen.pool.address.host, port: chosen.pool.address.port, replicas };
    if (shard === GLOBAL) {
      // The record lives on global itself: follow the promoted server first, then write it there
      // (processes find it by reading global's primary and replicas; see Topology.refreshPrimaries).
      const [[current]] = await c.query<RowDataPacket[]>('SELECT COALESCE(MAX(version), 0) AS v FROM `' + chosen.pool.address.database + '`.shard_primaries WHERE shard_name = ?', [GLOBAL]);
      topology.applyPrimaries([{ ...recorded, version: Number(current?.v ?? 0) + 1 }]);
    }
    const version = await record(deps.coordinator, shard, chosen.pool.address, replicas, old.address, gtidPosition);
    topology.applyPrimaries([{ ...recorded, version }]);
    return {
      shard,
      version,
      promoted: { node: chosen.pool.identity.name, address: endpoint(chosen.pool.address), gtidPosition },
      oldPrimary: { node: old.identity.name, address: endpoint(old.address), state: fence.state === 'unknown' ? 'forced' : fence.state },
      repointed: repointed.sort(),
      skipped,
      warnings,
    };
  } finally {
    await Promise.all(opened.map((conn) => conn.end().catch(() => conn.destroy())));
  }
}

type Fence = { state: 'fenced'; position: string } | { state: 'unreachable' } | { state: 'unknown'; reason: string };

/** read_only = ON on the old primary when it answers; `unreachable` only for a refused connection. */
async function fenceOldPrimary(address: NodeAddress): Promise<Fence> {
  let conn: Connection;
  try {
    conn = await connect(address);
  } catch (error) {
    const code = (error as { code?: string }).code;
    // Nothing listens on that port: the server process is gone, it takes no writes.
    if (code === 'ECONNREFUSED') return { state: 'unreachable' };
    return { state: 'unknown', reason: `${code ?? 'error'}: ${(error as Error).message}` };
  }
  try {
    // Waits for commits in progress; from here every write of an account without READ ONLY ADMIN
    // is refused (error 1290), which makes processes still writing there reload the topology.
    await conn.query('SET GLOBAL read_only = ON');
    const [[row]] = await conn.query<RowDataPacket[]>('SELECT @@GLOBAL.gtid_binlog_pos AS pos');
    return { state: 'fenced', position: String(row?.pos ?? '') };
  } catch (error) {
    return { state: 'unknown', reason: `it answers but read_only could not be set: ${(error as Error).message}` };
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
}

/** A refused failover: the old primary writable again (when it was fenced here), replicas receiving again. */
async function undo(old: NodeAddress, fence: Fence, candidates: Candidate[]): Promise<void> {
  if (fence.state === 'fenced') {
    const conn = await connect(old).catch(() => undefined);
    await conn?.query('SET GLOBAL read_only = OFF').catch(() => {});
    await conn?.end().catch(() => conn.destroy());
  }
  await Promise.all(candidates.map((c) => c.conn.query('START SLAVE IO_THREAD').catch(() => {})));
}

/**
 * Lets a replica apply everything it will get: from a fenced primary, until it has `fenced`;
 * then the receiver stops and the applier works through the relay log (`Gtid_IO_Pos`).
 */
async function drain(conn: Connection, pool: NodePool, fenced: string | undefined, timeoutMs: number): Promise<Candidate> {
  if (fenced) await conn.query('SELECT MASTER_GTID_WAIT(?, ?)', [fenced, timeoutMs / 1000]);
  await conn.query('STOP SLAVE IO_THREAD');
  const [[status]] = await conn.query<RowDataPacket[]>('SHOW SLAVE STATUS');
  const received = String(status?.Gtid_IO_Pos ?? '');
  let caughtUp = true;
  if (received) {
    const [[wait]] = await conn.query<RowDataPacket[]>('SELECT MASTER_GTID_WAIT(?, ?) AS w', [received, timeoutMs / 1000]);
    caughtUp = wait?.w != null && Number(wait.w) === 0;
  }
  const [[pos]] = await conn.query<RowDataPacket[]>('SELECT @@GLOBAL.gtid_slave_pos AS pos');
  return { pool, conn, position: String(pos?.pos ?? ''), caughtUp };
}

/** The candidate whose position covers every other's; else the one with the most transactions. */
function mostApplied(candidates: Candidate[]): Candidate {
  const covering = candidates.find((c) => candidates.every((o) => gtidPositionCovers(c.position, o.position)));
  if (covering) return covering;
  const total = (position: string) => position.split(',').reduce((sum, g) => sum + BigInt(g.split('-')[2] ?? 0), 0n);
  return [...candidates].sort((a, b) => (total(b.position) > total(a.position) ? 1 : -1))[0]!;
}

async function repoint(conn: Connection, to: NodeAddress, replPassword: string | undefined): Promise<void> {
  await conn.query('STOP SLAVE');
  const credentials = replPassword ? ', MASTER_USER = ?, MASTER_PASSWORD = ?' : '';
  await conn.query(
    `CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1${credentials}`,
    [to.host, to.port, ...(replPassword ? ['mxo_repl', replPassword] : [])],
  );
  await conn.query('START SLAVE');
  const deadline = Date.now() + REPOINT_TIMEOUT_MS;
  for (;;) {
    const [[status]] = await conn.query<RowDataPacket[]>('SHOW SLAVE STATUS');
    if (status?.Slave_IO_Running === 'Yes' && status?.Slave_SQL_Running === 'Yes') return;
    if (Date.now() > deadline) {
      throw new Error(`io ${status?.Slave_IO_Running}, sql ${status?.Slave_SQL_Running}: ${status?.Last_IO_Error || status?.Last_SQL_Error || 'no error'}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Writes the shard's new nodes on global, one version up; returns the version. */
async function record(
  coordinator: Coordinator,
  shard: string,
  primary: NodeAddress,
  replicas: Array<{ host: string; port: number }>,
  previous: NodeAddress,
  gtidPosition: string,
): Promise<number> {
  const { value } = await coordinator.run('failover_record', [GLOBAL], GLOBAL, async (tx) => {
    const conn = await tx.branch(GLOBAL);
    await conn.exec(
      `INSERT INTO shard_primaries (shard_name, primary_host, primary_port, replicas, version, previous_host, previous_port, promoted_at_gtid)
       VALUES (?, ?, ?, ?, 1, ?, ?, ?)
       ON DUPLICATE KEY UPDATE primary_host = VALUES(primary_host), primary_port = VALUES(primary_port), replicas = VALUES(replicas),
         version = version + 1, previous_host = VALUES(previous_host), previous_port = VALUES(previous_port),
         promoted_at_gtid = VALUES(promoted_at_gtid)`,
      [shard, primary.host, primary.port, formatEndpoints(replicas), previous.host, previous.port, gtidPosition],
    );
    const [row] = await conn.rows<{ version: number }>('SELECT version FROM shard_primaries WHERE shard_name = ?', [shard]);
    return Number(row!.version);
  });
  return value;
}

async function connect(address: NodeAddress): Promise<Connection> {
  const conn = await mysql.createConnection({
    host: address.host,
    port: address.port,
    user: address.user,
    password: address.password,
    connectTimeout: CONNECT_TIMEOUT_MS,
  });
  conn.on('error', () => {});
  return conn;
}

function endpoint(address: NodeAddress): string {
  return formatEndpoints([address]);
}

