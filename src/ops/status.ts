import { listMigrationFiles, type Tier } from '../migrate/index.js';
import type { NodePool } from '../pool/node-pool.js';
import type { PooledConnection } from '../pool/pooled-connection.js';
import { gtidPositionCovers } from '../replica/gtid-position.js';
import { readSemiSync, type SemiSyncState } from '../replica/semi-sync.js';
import { GLOBAL, type Topology } from '../routing/topology.js';
import { parseGtrid, parseRecoverRow, type XaRecoverRow } from '../twopc/xid.js';
import { describeError } from './describe-error.js';

/** One database node as `status` found it. */
export interface NodeStatus {
  name: string;
  shard: string;
  role: 'primary' | 'replica';
  /** host:port/database (never a password). */
  address: string;
  up: boolean;
  /** Why it is down: `code: message`. */
  error?: string;
  version?: string;
  readOnly?: boolean;
  /** Primary: `@@gtid_binlog_pos`; replica: `@@gtid_slave_pos` (what it has applied). */
  gtidPosition?: string;
  /**
   * Primaries with replicas: semi-synchronous replication (enabled, and active now: false after a
   * fallback to asynchronous, when commits are acknowledged that no replica may have).
   */
  semiSync?: SemiSyncState;
  /** Replicas only. */
  replication?: {
    ioRunning: boolean;
    sqlRunning: boolean;
    secondsBehind: number | null;
    /** True when the replica has applied everything its primary had when status looked. */
    caughtUp: boolean;
    lastError?: string;
    /**
     * This process's lag monitor: whether the replica serves reads and its lag in ms as last
     * measured (kept while its primary is down, when Seconds_Behind_Master is NULL).
     */
    monitor?: { servesReads: boolean; lagMs: number };
  };
  pool: { idle: number; inUse: number; pending: number };
}

/** A prepared XA branch waiting for its decision. */
export interface InDoubtBranch {
  node: string;
  gtrid: string;
  bqual: string;
  /** Age from the time stamped into the gtrid; undefined for a foreign XID. */
  ageMs?: number;
}

/** Applied migrations on one primary against the package's sql/ files. */
export interface SchemaStatus {
  node: string;
  applied: number;
  /** Files of this node's tiers not applied yet. */
  pending: string[];
  /** Applied files whose content changed since, or that the package no longer has. */
  drift: string[];
}

export interface ShardStatus {
  shard: string;
  districts: number[];
  characters: number;
  online: number;
}

/** What `db.status()` returns: healthy, or the list of what is not. */
export interface ClusterStatus {
  healthy: boolean;
  problems: string[];
  nodes: NodeStatus[];
  inDoubt: InDoubtBranch[];
  schema: SchemaStatus[];
  shards: ShardStatus[];
  /** District moves in progress (journal rows still 'copying'), filled in by `db.status()`. */
  districtMoves?: Array<{ moveId: number; districtId: number; from: string; to: string; startedAt: Date }>;
}

export interface StatusOptions {
  /** Replicas further behind than this are a problem (default: the config's maxLagMs). */
  maxLagMs: number;
  /** In-doubt branches older than this are a problem (recovery should have resolved them). */
  inDoubtGraceMs: number;
  /** The lag monitor's verdict on a replica (see NodeStatus.replication.monitor). */
  monitor?: (replica: NodePool) => { servesReads: boolean; lagMs: number } | undefined;
}

/**
 * Looks at every node at once: reachability, role, GTID position, replication threads and lag,
 * pool use; prepared XA branches and schema migrations on primaries; characters and online
 * players per shard. Never throws for a node that is down: it is reported as down.
 */
export async function clusterStatus(topology: Topology, options: StatusOptions): Promise<ClusterStatus> {
  const now = Date.now();
  const groups = topology.all();
  const result = await Promise.all(
    groups.map(async (group) => {
      const tiers: Tier[] = group.key === GLOBAL ? ['reference', 'global'] : ['reference', 'shard'];
      const primary = await nodeStatus(group.primary, undefined, undefined, group.replicas.length > 0);
      const facts = primary.up
        ? await group.primary
            .use('status_primary', async (c) => ({
              inDoubt: await inDoubtOn(c, group.primary.identity.name, now),
              schema: await schemaOn(c, group.primary.identity.name, tiers),
              shard: group.key === GLOBAL ? undefined : await shardCounts(c, group.key, group.districts),
            }))
            .catch((error: unknown) => ({ error: describeError(error) }))
        : { error: primary.error };
      const replicas = await Promise.all(group.replicas.map((r) => nodeStatus(r, primary.gtidPosition, options.monitor?.(r))));
      return { group, primary, replicas, facts };
    }),
  );
  const status: ClusterStatus = { healthy: true, problems: [], nodes: [], inDoubt: [], schema: [], shards: [] };
  for (const { primary, replicas, facts } of result) {
    status.nodes.push(primary, ...replicas);
    if ('error' in facts) {
      if (primary.up) status.problems.push(`${primary.name}: cannot read status: ${facts.error}`);
      continue;
    }
    status.inDoubt.push(...facts.inDoubt);
    status.schema.push(facts.schema);
    if (facts.shard) status.shards.push(facts.shard);
  }
  for (const node of status.nodes) {
    if (!node.up) {
      status.problems.push(`${node.name} is down: ${node.error}`);
      continue;
    }
    const r = node.replication;
    if (node.role === 'replica' && r) {
      if (!r.ioRunning || !r.sqlRunning) {
        status.problems.push(
          `${node.name}: replication stopped (io ${r.ioRunning ? 'on' : 'off'}, sql ${r.sqlRunning ? 'on' : 'off'})${r.lastError ? `: ${r.lastError}` : ''}`,
        );
      } else if (r.secondsBehind !== null && r.secondsBehind * 1000 > options.maxLagMs) {
        status.problems.push(`${node.name}: ${r.secondsBehind} s behind its primary`);
      }
    }
    if (node.role === 'primary' && node.readOnly) status.problems.push(`${node.name}: primary is read-only`);
    if (node.semiSync && !node.semiSync.enabled) {
      status.problems.push(`${node.name}: semi-synchronous replication is not enabled (a lost primary loses acknowledged commits)`);
    } else if (node.semiSync && !node.semiSync.active) {
      status.problems.push(
        `${node.name}: semi-synchronous replication fell back to asynchronous (${node.semiSync.clients} semi-sync replica(s) connected): commits are acknowledged that no replica may have`,
      );
    }
  }
  for (const branch of status.inDoubt) {
    if (branch.ageMs === undefined || branch.ageMs > options.inDoubtGraceMs) {
      status.problems.push(
        `${branch.node}: XA branch ${branch.gtrid} in doubt for ${branch.ageMs === undefined ? '?' : Math.round(branch.ageMs / 1000)} s (run recover)`,
      );
    }
  }
  for (const s of status.schema) {
    if (s.pending.length)
      status.problems.push(`${s.node}: ${s.pending.length} migration(s) not applied (run migrate): ${s.pending.join(', ')}`);
    if (s.drift.length) status.problems.push(`${s.node}: schema drift: ${s.drift.join(', ')}`);
  }
  status.healthy = status.problems.length === 0;
  return status;
}

async function nodeStatus(
  pool: NodePool,
  primaryPosition?: string,
  monitor?: { servesReads: boolean; lagMs: number },
  hasReplicas = false,
): Promise<NodeStatus> {
  const { identity, address } = pool;
  const base = {
    name: identity.name,
    shard: identity.shard,
    role: identity.role,
    address: `${address.host}:${address.port}/${address.database}`,
    pool: pool.stats(),
  };
  try {
    return await pool.use('status_node', async (c) => {
      const [vars] = await c.rows<{ version: string; ro: number; binlog: string; applied: string }>(
        'SELECT VERSION() AS version, @@read_only AS ro, @@gtid_binlog_pos AS binlog, @@gtid_slave_pos AS applied',
      );
      const node: NodeStatus = {
        ...base,
        up: true,
        version: vars!.version,
        readOnly: Number(vars!.ro) === 1,
        gtidPosition: identity.role === 'primary' ? vars!.binlog : vars!.applied,
      };
      if (identity.role === 'primary' && hasReplicas) node.semiSync = await readSemiSync(c);
      if (identity.role === 'replica') {
        const [row] = await c.rows<Record<string, unknown>>('SHOW SLAVE STATUS');
        const lastError = [row?.Last_IO_Error, row?.Last_SQL_Error].filter((e) => typeof e === 'string' && e !== '').join('; ');
        node.replication = {
          ioRunning: row?.Slave_IO_Running === 'Yes',
          sqlRunning: row?.Slave_SQL_Running === 'Yes',
          secondsBehind: row?.Seconds_Behind_Master == null ? null : Number(row.Seconds_Behind_Master),
          caughtUp: primaryPosition !== undefined && gtidPositionCovers(vars!.applied, primaryPosition),
          ...(lastError ? { lastError } : {}),
          ...(monitor ? { monitor } : {}),
        };
      }
      return node;
    });
  } catch (error) {
    return { ...base, up: false, error: describeError(error) };
  }
}

async function inDoubtOn(c: PooledConnection, node: string, now: number): Promise<InDoubtBranch[]> {
  const [rows] = await c.text('XA RECOVER');
  return (rows as XaRecoverRow[]).map((row) => {
    const xid = parseRecoverRow(row);
    if (!xid) return { node, gtrid: `foreign format ${row.formatID}`, bqual: '' };
    const parsed = parseGtrid(xid.gtrid);
    return { node, ...xid, ...(parsed ? { ageMs: now - parsed.startedAt } : {}) };
  });
}

async function schemaOn(c: PooledConnection, node: string, tiers: Tier[]): Promise<SchemaStatus> {
  const applied = await c
    .rows<{ tier: string; file_name: string; content_hash: string }>('SELECT tier, file_name, content_hash FROM schema_migrations')
    .catch(() => []);
  const files = (await Promise.all(tiers.map((t) => listMigrationFiles(t)))).flat();
  const key = (tier: string, name: string) => `${tier}/${name}`;
  const appliedByKey = new Map(applied.map((r) => [key(r.tier, r.file_name), r.content_hash]));
  const fileByKey = new Map(files.map((f) => [key(f.tier, f.name), f.hash]));
  return {
    node,
    applied: applied.length,
    pending: [...fileByKey.keys()].filter((k) => !appliedByKey.has(k)),
    drift: [...appliedByKey.entries()]
      .filter(([k, hash]) => fileByKey.get(k) !== hash)
      .map(([k]) => (fileByKey.has(k) ? `${k} changed since applied` : `${k} applied but not in the package`)),
  };
}

async function shardCounts(c: PooledConnection, shard: string, districts: number[]): Promise<ShardStatus> {
  const [row] = await c
    .rows<{ n: number; online: number | null }>('SELECT COUNT(*) AS n, SUM(is_online = 1) AS online FROM characters')
    .catch(() => [{ n: 0, online: 0 }]);
  return { shard, districts, characters: Number(row?.n ?? 0), online: Number(row?.online ?? 0) };
}
