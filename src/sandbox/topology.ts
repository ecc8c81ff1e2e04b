/** Sandbox topology: node names, server ids, district ownership, server flags, cluster config. */
import { MxoError } from '../errors.js';
import type { SandboxClusterConfig, SandboxNode, SandboxOptions } from './types.js';

export const GREEK = [
  'alpha',
  'beta',
  'gamma',
  'delta',
  'epsilon',
  'zeta',
  'eta',
  'theta',
  'iota',
  'kappa',
  'lambda',
  'mu',
  'nu',
  'xi',
  'omicron',
  'pi',
  'rho',
  'sigma',
  'tau',
  'upsilon',
  'phi',
  'chi',
  'psi',
  'omega',
] as const;

export const GLOBAL_DB = 'mxo_global';
export const SHARD_DB = 'mxo_shard';

/**
 * `@@session_track_system_variables` default of MariaDB 10.11 (checked on 10.11.19) plus
 * `last_gtid`, which the library reads from each write's OK packet for causal reads.
 */
export const SESSION_TRACK = 'autocommit,character_set_client,character_set_connection,character_set_results,time_zone,last_gtid';

/** Name of the i-th shard (0-based): alpha..omega, then alpha2, beta2, ... */
export function shardName(i: number): string {
  const base = GREEK[i % GREEK.length];
  const round = Math.floor(i / GREEK.length);
  return round === 0 ? base : `${base}${round + 1}`;
}

export interface PlannedNode {
  name: string;
  role: 'primary' | 'replica';
  shard: string;
  database: string;
  /** Unique per sandbox, >= 1. */
  serverId: number;
  /** For replicas: the name of their primary. */
  primary?: string;
  /** For primaries: true when at least one replica follows it (semi-synchronous replication on). */
  hasReplicas?: boolean;
}

export interface Plan {
  nodes: PlannedNode[];
  shards: Array<{ name: string; districts: number[] }>;
}

export class SandboxError extends MxoError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SANDBOX', message, options);
  }
}

function intOption(value: number | undefined, dflt: number, min: number, name: string): number {
  const v = value ?? dflt;
  if (!Number.isInteger(v) || v < min || v > 1000) {
    throw new SandboxError(`sandbox option ${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return v;
}

export function planSandbox(opts: SandboxOptions): Plan {
  const shards = intOption(opts.shards, 2, 1, 'shards');
  const replicasPerShard = intOption(opts.replicasPerShard, 1, 0, 'replicasPerShard');
  const globalReplicas = intOption(opts.globalReplicas, 0, 0, 'globalReplicas');
  const districtsPerShard = intOption(opts.districtsPerShard, 3, 1, 'districtsPerShard');

  if (opts.districts !== undefined) checkDistricts(opts.districts, shards);
  const nodes: PlannedNode[] = [];
  let serverId = 1;
  const addGroup = (shard: string, database: string, replicas: number): void => {
    const primary = `${shard}-primary`;
    nodes.push({ name: primary, role: 'primary', shard, database, serverId: serverId++, ...(replicas > 0 ? { hasReplicas: true } : {}) });
    for (let r = 1; r <= replicas; r++) {
      nodes.push({ name: `${shard}-replica-${r}`, role: 'replica', shard, database, serverId: serverId++, primary });
    }
  };
  addGroup('global', GLOBAL_DB, globalReplicas);
  const shardList: Plan['shards'] = [];
  for (let i = 0; i < shards; i++) {
    const name = shardName(i);
    addGroup(name, SHARD_DB, replicasPerShard);
    const districts: number[] = opts.districts ? [...opts.districts[i]!] : [];
    if (!opts.districts) for (let d = 1; d <= districtsPerShard; d++) districts.push(i * districtsPerShard + d);
    shardList.push({ name, districts });
  }
  return { nodes, shards: shardList };
}

/** One non-empty list of district ids (0..65535) per shard, no id twice. */
function checkDistricts(districts: number[][], shards: number): void {
  if (!Array.isArray(districts) || districts.length !== shards)
    throw new SandboxError(`sandbox option districts must hold one list per shard (${shards}), got ${JSON.stringify(districts)}`);
  const seen = new Set<number>();
  for (const [i, list] of districts.entries()) {
    if (!Array.isArray(list) || list.length === 0) throw new SandboxError(`sandbox option districts[${i}] must be a non-empty list`);
    for (const d of list) {
      if (!Number.isInteger(d) || d < 0 || d > 65_535)
        throw new SandboxError(`sandbox option districts[${i}]: ${String(d)} is not a district id (0-65535)`);
      if (seen.has(d)) throw new SandboxError(`sandbox option districts: district ${d} is given twice`);
      seen.add(d);
    }
  }
}

export function nodeUrl(host: string, port: number, database: string): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `mysql://root@${h}:${port}/${database}`;
}

export function buildConfig(plan: Plan, nodes: SandboxNode[]): SandboxClusterConfig {
  const url = (name: string): string => {
    const n = nodes.find((x) => x.name === name);
    if (!n) throw new SandboxError(`internal: no node ${name}`);
    return n.url;
  };
  const replicasOf = (shard: string): string[] => nodes.filter((n) => n.shard === shard && n.role === 'replica').map((n) => n.url);
  return {
    global: { primary: url('global-primary'), replicas: replicasOf('global') },
    shards: plan.shards.map((s) => ({
      name: s.name,
      primary: url(`${s.name}-primary`),
      replicas: replicasOf(s.name),
      districts: [...s.districts],
    })),
  };
}

/**
 * Server flags shared by both providers (replication, GTID, small memory footprint, causal-read
 * session tracking). Paths (datadir, socket, logs) are added by the provider.
 */
export function commonServerFlags(node: PlannedNode): string[] {
  const flags = [
    `--server-id=${node.serverId}`,
    '--binlog-format=ROW',
    '--gtid-strict-mode=1',
    '--log-slave-updates',
    `--relay-log=${node.name}-relay-bin`,
    '--innodb-buffer-pool-size=32M',
    '--innodb-log-file-size=8M',
    '--max-connections=300',
    '--skip-name-resolve',
    `--session-track-system-variables=${SESSION_TRACK}`,
    // --no-defaults would otherwise leave the compiled-in latin1 default; match Debian's and the
    // official image's packaged configuration.
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_general_ci',
  ];
  if (node.role === 'replica') {
    // A replica applies the primary's transactions one at a time: flushing binlog and redo at
    // each (no group commit to share them) kept it minutes behind a busy primary on a shared
    // disk (the bank test's replicas, in CI). What a crash of a replica loses, it fetches again
    // from its primary (its GTID position commits with the data); promote one only after a check.
    flags.push('--read-only=1', '--sync-binlog=0', '--innodb-flush-log-at-trx-commit=2');
    // Acknowledges each transaction once it is in the relay log (written, before it is applied):
    // what lets the primary's commit return (semi-sync, below).
    flags.push('--rpl-semi-sync-slave-enabled=ON');
  } else {
    // Every primary can hold two-phase-commit decision records: a commit must survive a crash
    // of the host, so the binlog and the redo log are flushed at each commit.
    flags.push('--sync-binlog=1', '--innodb-flush-log-at-trx-commit=1');
    if (node.hasReplicas) flags.push(...SEMI_SYNC_PRIMARY_FLAGS);
  }
  return flags;
}

/**
 * Semi-synchronous replication on a primary with replicas (MariaDB 10.11 built in, no plugin):
 * a commit returns to the client only after a replica has the transaction in its relay log, so
 * nothing acknowledged exists on one host only and a replica can be promoted when the primary is
 * lost for good. AFTER_SYNC: the commit waits for the replica's ack after the binlog is synced and
 * before the storage engine commits, so no other session sees a transaction a promotion could lose.
 * After `rpl_semi_sync_master_timeout` ms without an ack (every replica down or cut off) the
 * primary falls back to asynchronous replication rather than stall every write, and switches back
 * by itself when a replica catches up; `status` and `mxo_replication_semi_sync_active` show which
 * it is, and the MxoSemiSyncOff alert fires while it is async. 5 s: longer than an ack takes on a
 * busy host (a replica's receiver thread only writes the relay log), and under the library's 10 s
 * statement timeout, so one stalled commit is all a dead replica costs before the fallback.
 */
export const SEMI_SYNC_PRIMARY_FLAGS = [
  '--rpl-semi-sync-master-enabled=ON',
  '--rpl-semi-sync-master-wait-point=AFTER_SYNC',
  '--rpl-semi-sync-master-timeout=5000',
];

export function verbose(...args: unknown[]): void {
  if (process.env.MXO_SANDBOX_VERBOSE) console.error('[mxo-sandbox]', ...args);
}
