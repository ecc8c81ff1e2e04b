/**
 * The cluster config's public types, written out as interfaces (the published declarations name
 * no validation library). The schema in ./schema.ts validates exactly these: a compile-time
 * check there fails when the two drift apart. Defaults are those of ./schema.ts.
 */

/** A node: `mysql://user[:password]@host:port/database`, or the parts. */
export type NodeInput = string | NodeObjectInput;

/** A node as an object. */
export interface NodeObjectInput {
  host: string;
  /** Default 3306. */
  port?: number;
  user: string;
  /** Prefer `passwordEnv`: the name of an environment variable holding the password. */
  password?: string;
  passwordEnv?: string;
  /** Letters, digits or _. */
  database: string;
  /** TLS to this node; overrides the cluster's `tls`. `false` for a node reached without it. */
  tls?: TlsInput | false;
}

/**
 * TLS to MariaDB: `true` verifies the server against the system's certificate authorities; an
 * object gives PEM text or files (`ca`/`caFile`, `cert`/`certFile`, `key`/`keyFile`).
 */
export type TlsInput =
  | true
  | {
      ca?: string;
      caFile?: string;
      cert?: string;
      certFile?: string;
      key?: string;
      keyFile?: string;
      /** Default true: the server's certificate must chain to `ca` (or the system's authorities). */
      rejectUnauthorized?: boolean;
      /** Default true: the certificate must name the host connected to. */
      verifyIdentity?: boolean;
    };

/** A shard this process may connect to when global's `cluster_shards` names it (exact match). */
export interface ApprovedShard {
  name: string;
  host: string;
  port: number;
  database: string;
}

/** Connection pools of every node. */
export interface PoolOptions {
  min: number;
  max: number;
  acquireTimeoutMs: number;
  maxWaitingClients: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  evictionRunIntervalMs: number;
  validateAfterIdleMs: number;
  /** How long a node that refused a connection is treated as down before the next attempt. */
  downBackoffMs: number;
  /** innodb_lock_wait_timeout of every pooled session, in seconds (kept under the statement timeout). */
  lockWaitTimeoutSec: number;
}

/** Replica reads. */
export interface ReplicaPolicy {
  /** Replicas further behind than this are skipped. */
  maxLagMs: number;
  /** How long a session read waits on a replica for the session's GTID before using the primary. */
  gtidWaitTimeoutMs: number;
  /** A replica read not answered within this goes to the primary instead. */
  readTimeoutMs: number;
  /** Lag monitor period. */
  monitorIntervalMs: number;
}

/** Keyed reads (characters.get, getMany, spawn, load). */
export interface ReadsOptions {
  /**
   * Concurrent reads of one kind on one node within one event-loop turn become one statement
   * over all their characters, `IN (...)` (default true): gets, and spawns and loads (one shard
   * and one global statement for the lot).
   */
  coalesce: boolean;
  /** Keys per coalesced statement at most, a power of two (default 8). */
  maxBatch: number;
}

/** Recovery of in-doubt two-phase commits. */
export interface RecoveryOptions {
  /** Period of the background recovery sweep; 0 turns it off. */
  intervalMs: number;
  /** Prepared branches younger than this are left to their coordinator. */
  gracePeriodMs: number;
  /** Decision records older than this are pruned by a sweep that finds nothing in doubt. */
  decisionRetentionMs: number;
}

/** Distributed transactions. */
export interface TwoPhaseOptions {
  /** Timeout of each statement of a distributed transaction. */
  statementTimeoutMs: number;
  /** Retries after a deadlock or lock wait timeout. */
  deadlockRetries: number;
}

/** The write-behind buffers (positions, log rows). */
export interface WriteBehindConfig {
  flushIntervalMs: number;
  maxQueue: number;
  maxBatch: number;
  backpressureTimeoutMs: number;
}

/** Maintenance jobs. */
export interface MaintenanceConfig {
  /** How often each process checks for due jobs (0 turns the timer off). */
  intervalMs: number;
  /** Archive characters inactive for this many days; off when absent. */
  archiveInactiveDays?: number;
  partitionMonthsAhead: number;
  idempotencyKeyRetentionDays: number;
}

/** Presence and fencing (docs/design.md, "Character writes"). */
export interface PresenceConfig {
  /** Every character write must carry the caller's `fencingToken` (default false). */
  requireFencing: boolean;
}

/** A shard as the config names it. */
export interface ShardInput {
  /** Lowercase letters, digits or _, starting with a letter; not "global". */
  name: string;
  primary: NodeInput;
  replicas?: NodeInput[];
  /** The districts it owns at first (global's placement wins once migrated). */
  districts: number[];
}

/** The cluster config as users write it (shards.config.ts, JSON or a plain object). */
export interface ClusterConfigInput {
  global: { primary: NodeInput; replicas?: NodeInput[] };
  shards: ShardInput[];
  pool?: Partial<PoolOptions>;
  replicas?: Partial<ReplicaPolicy>;
  reads?: Partial<ReadsOptions>;
  recovery?: Partial<RecoveryOptions>;
  twoPhase?: Partial<TwoPhaseOptions>;
  writeBehind?: Partial<WriteBehindConfig>;
  maintenance?: Partial<MaintenanceConfig>;
  presence?: Partial<PresenceConfig>;
  /** TLS to every node that does not set its own `tls` (off when absent). */
  tls?: TlsInput;
  /** Shards beyond `shards` this process may learn from global (added by `add-shard` later). */
  approvedShards?: Array<Omit<ApprovedShard, 'port'> & { port?: number }>;
}
