import { z } from 'zod';
import type { Same } from '../validate.js';

/**
 * The cluster config as users write it (shards.config.ts, JSON or a plain object).
 * `.strict()` everywhere: a misspelt key is an error that names it, not a silently ignored option.
 */

/** @internal
 * TLS to a node (docs/operating.md, "TLS"): PEM text or files (read when the config is resolved).
 * `true` verifies the server against the system's certificate authorities.
 */
export const tlsSchema = z.union([
  z.literal(true),
  z
    .object({
      ca: z.string().min(1).optional(),
      caFile: z.string().min(1).optional(),
      cert: z.string().min(1).optional(),
      certFile: z.string().min(1).optional(),
      key: z.string().min(1).optional(),
      keyFile: z.string().min(1).optional(),
      /** Default true: the server's certificate must chain to `ca` (or the system's authorities). */
      rejectUnauthorized: z.boolean().default(true),
      /** Default true: the certificate must name the host connected to. */
      verifyIdentity: z.boolean().default(true),
    })
    .strict(),
]);

const nodeObject = z
  .object({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(3306),
    user: z.string().min(1),
    /** Prefer `passwordEnv`: the name of an environment variable holding the password. */
    password: z.string().optional(),
    passwordEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
      .optional(),
    database: z.string().regex(/^[A-Za-z0-9_]+$/, 'must be letters, digits or _'),
    /** TLS to this node; overrides the cluster's `tls`. `false` for a node reached without it. */
    tls: z.union([tlsSchema, z.literal(false)]).optional(),
  })
  .strict();

/**
 * A node is `mysql://user[:password]@host:port/database` or an object.
 * @internal
 */
export const nodeSchema = z.union([z.string().min(1), nodeObject]);

const poolSchema = z
  .object({
    min: z.number().int().min(0).default(0),
    max: z.number().int().min(1).default(10),
    acquireTimeoutMs: z.number().int().positive().default(5000),
    maxWaitingClients: z.number().int().positive().default(1000),
    connectTimeoutMs: z.number().int().positive().default(3000),
    idleTimeoutMs: z.number().int().positive().default(30_000),
    evictionRunIntervalMs: z.number().int().positive().default(10_000),
    validateAfterIdleMs: z.number().int().nonnegative().default(5_000),
    /** How long a node that refused a connection is treated as down before the next attempt. */
    downBackoffMs: z.number().int().positive().default(1_000),
    /**
     * innodb_lock_wait_timeout for every pooled session, in seconds. Kept under the statement
     * timeout (twoPhase.statementTimeoutMs): a wait InnoDB cannot see the end of (two cross-shard
     * transactions waiting on each other on different servers) then ends as a typed ConflictError,
     * not as a statement timeout that reads like a lost connection.
     */
    lockWaitTimeoutSec: z.number().int().positive().default(5),
  })
  .strict();

const replicaPolicySchema = z
  .object({
    /** Replicas further behind than this are skipped. */
    maxLagMs: z.number().int().positive().default(2_000),
    /** How long a session read waits on a replica for the session's GTID before using the primary. */
    gtidWaitTimeoutMs: z.number().int().positive().default(200),
    /** A replica read not answered within this goes to the primary instead. */
    readTimeoutMs: z.number().int().positive().default(2_000),
    /** Lag monitor period. */
    monitorIntervalMs: z.number().int().positive().default(1_000),
  })
  .strict();

const readsSchema = z
  .object({
    /**
     * Concurrent keyed reads of one kind on one node within one turn of the event loop become one
     * `... IN (...)` statement (characters.get, getMany, spawn and load: see ReadsOptions).
     */
    coalesce: z.boolean().default(true),
    /**
     * Keys per coalesced statement at most (a power of two: IN-lists are padded to powers of two).
     * Small batches keep several statements in flight on several connections: with 16 gets in
     * flight, batches of 8 measured 2.6x-3.2x raw `execute` q/s over four runs (every round of the
     * last, at load 4, above 2.3x), one batch of 16 1.45x-5.6x (wider spread: every caller then
     * waits on the one statement).
     */
    maxBatch: z
      .number()
      .int()
      .min(1)
      .max(1024)
      .refine((n) => (n & (n - 1)) === 0, 'must be a power of two')
      .default(8),
  })
  .strict();

const recoverySchema = z
  .object({
    /** Period of the background recovery sweep; 0 turns it off. */
    intervalMs: z.number().int().nonnegative().default(30_000),
    /** Prepared branches younger than this are left to their coordinator. */
    gracePeriodMs: z.number().int().positive().default(60_000),
    /** Decision records older than this are pruned by a sweep that finds nothing in doubt. */
    decisionRetentionMs: z
      .number()
      .int()
      .positive()
      .default(7 * 24 * 3_600_000),
  })
  .strict();

const twoPhaseSchema = z
  .object({
    /** Timeout of each statement of a distributed transaction. */
    statementTimeoutMs: z.number().int().positive().default(10_000),
    /** Retries after a deadlock or lock wait timeout. */
    deadlockRetries: z.number().int().nonnegative().default(5),
  })
  .strict();

const writeBehindSchema = z
  .object({
    /** Flush period of the write-behind buffers (positions, log rows). */
    flushIntervalMs: z.number().int().positive().default(100),
    /** Entries a shard's buffer holds before writers wait for a flush. */
    maxQueue: z.number().int().positive().default(10_000),
    /** Rows per multi-row statement. */
    maxBatch: z.number().int().positive().max(5_000).default(500),
    /** How long a writer waits for room before a WriteBehindFullError. */
    backpressureTimeoutMs: z.number().int().positive().default(5_000),
  })
  .strict();

const maintenanceSchema = z
  .object({
    /** How often each process checks for due maintenance jobs (0 turns the timer off; run them with db.maintenance.run()). */
    intervalMs: z.number().int().nonnegative().default(60_000),
    /** Archive characters inactive for this many days (the seed's CleanupInactiveCharacters); off when absent. */
    archiveInactiveDays: z.number().int().min(1).max(36_500).optional(),
    /** Monthly log partitions kept ready ahead of today. */
    partitionMonthsAhead: z.number().int().min(1).max(24).default(3),
    /** Idempotency keys of adjustMoney/inventory.grant are kept this long, then purged (retries must come sooner). */
    idempotencyKeyRetentionDays: z.number().int().min(1).max(3_650).default(30),
  })
  .strict();

const presenceSchema = z
  .object({
    /**
     * Every character write must carry the caller's presence claim token (`fencingToken`); one
     * without is refused with a ValidationError naming `fencingToken`. Off by default (servers that
     * do not claim presence yet keep working).
     */
    requireFencing: z.boolean().default(false),
  })
  .strict();

const shardNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,30}$/, 'must be lowercase letters, digits or _, starting with a letter')
  .refine((n) => n !== 'global', 'the name "global" is reserved');

/** @internal The schema of {@link ClusterConfigInput} (public types: ./config-input.ts). */
export const clusterConfigSchema = z
  .object({
    global: z.object({ primary: nodeSchema, replicas: z.array(nodeSchema).default([]) }).strict(),
    shards: z
      .array(
        z
          .object({
            name: shardNameSchema,
            primary: nodeSchema,
            replicas: z.array(nodeSchema).default([]),
            // From 0 (the tutorial); the loading area is 0x385 (901). The initial placement: global's
            // district_placement wins once migrated; [] for a shard added to receive moved districts.
            districts: z.array(z.number().int().min(0).max(2_147_483_647)),
          })
          .strict(),
      )
      .min(1),
    pool: poolSchema.default(poolSchema.parse({})),
    replicas: replicaPolicySchema.default(replicaPolicySchema.parse({})),
    reads: readsSchema.default(readsSchema.parse({})),
    recovery: recoverySchema.default(recoverySchema.parse({})),
    twoPhase: twoPhaseSchema.default(twoPhaseSchema.parse({})),
    writeBehind: writeBehindSchema.default(writeBehindSchema.parse({})),
    maintenance: maintenanceSchema.default(maintenanceSchema.parse({})),
    presence: presenceSchema.default(presenceSchema.parse({})),
    /** TLS to every node that does not set its own `tls` (off when absent). */
    tls: tlsSchema.optional(),
    /**
     * Shards this process may learn from global's `cluster_shards` (added by `add-shard` after it
     * started): name and address must match the row exactly. A placement naming any other shard
     * is refused and logged, and no connection is made (docs/operating.md, "Adding a shard").
     */
    approvedShards: z
      .array(
        z
          .object({
            name: shardNameSchema,
            host: z.string().min(1),
            port: z.number().int().min(1).max(65535).default(3306),
            database: z.string().regex(/^[A-Za-z0-9_]+$/, 'must be letters, digits or _'),
          })
          .strict(),
      )
      .default([]),
  })
  .strict()
  .superRefine((config, ctx) => {
    const owner = new Map<number, string>();
    const names = new Set<string>();
    config.shards.forEach((shard, i) => {
      if (names.has(shard.name)) {
        ctx.addIssue({ code: 'custom', path: ['shards', i, 'name'], message: `duplicate shard name "${shard.name}"` });
      }
      names.add(shard.name);
      shard.districts.forEach((district, j) => {
        const previous = owner.get(district);
        if (previous !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['shards', i, 'districts', j],
            message: `district ${district} is owned by both "${previous}" and "${shard.name}"`,
          });
        }
        owner.set(district, shard.name);
      });
    });
  });

export type {
  ClusterConfigInput,
  NodeInput,
  PoolOptions,
  ReplicaPolicy,
  RecoveryOptions,
  TwoPhaseOptions,
  WriteBehindConfig,
  MaintenanceConfig,
  PresenceConfig,
  ReadsOptions,
  ApprovedShard,
  TlsInput,
} from './config-input.js';

/** @internal The parsed config with defaults filled in (nodes not yet resolved). */
export type ParsedClusterConfig = z.output<typeof clusterConfigSchema>;

// The written-out types and the schema must agree both ways (compile-time only).
const agree: [
  Same<z.input<typeof clusterConfigSchema>, import('./config-input.js').ClusterConfigInput>,
  Same<ParsedClusterConfig['pool'], import('./config-input.js').PoolOptions>,
  Same<ParsedClusterConfig['replicas'], import('./config-input.js').ReplicaPolicy>,
  Same<ParsedClusterConfig['recovery'], import('./config-input.js').RecoveryOptions>,
  Same<ParsedClusterConfig['twoPhase'], import('./config-input.js').TwoPhaseOptions>,
  Same<ParsedClusterConfig['writeBehind'], import('./config-input.js').WriteBehindConfig>,
  Same<ParsedClusterConfig['maintenance'], import('./config-input.js').MaintenanceConfig>,
  Same<ParsedClusterConfig['presence'], import('./config-input.js').PresenceConfig>,
  Same<ParsedClusterConfig['reads'], import('./config-input.js').ReadsOptions>,
  Same<ParsedClusterConfig['approvedShards'][number], import('./config-input.js').ApprovedShard>,
  Same<z.input<typeof tlsSchema>, import('./config-input.js').TlsInput>,
] = [true, true, true, true, true, true, true, true, true, true, true];
void agree;
