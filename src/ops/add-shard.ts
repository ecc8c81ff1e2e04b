import { z } from 'zod';
import { ConfigError, NameTakenError } from '../errors.js';
import { resolveNode, type NodeAddress } from '../config/node-address.js';
import type { NodeInput } from '../config/schema.js';
import { listMigrationFiles, migrateNode } from '../migrate/index.js';
import type { NodePool } from '../pool/node-pool.js';
import { ident } from '../schema/character-rows.js';
import type { ShardNodes, Topology } from '../routing/topology.js';
import { parseInput } from '../validate.js';
import { connectionOptions } from '../pool/connection-options.js';

/** What {@link addShard} takes: a shard name and its nodes (URLs or node objects, as in the config). */
export interface AddShardInput {
  name: string;
  primary: NodeInput;
  replicas?: NodeInput[];
}

/** What {@link addShard} did. */
export interface AddShardResult {
  name: string;
  migrations: string[];
  /** Reference tables copied from global, with their row counts. */
  referenceRows: Record<string, number>;
}

const input = z
  .object({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,30}$/, 'lowercase letters, digits or _, starting with a letter')
      .refine((n) => n !== 'global', 'reserved'),
    primary: z.union([z.string().min(1).max(2048), z.object({}).passthrough()]),
    replicas: z
      .array(z.union([z.string().min(1).max(2048), z.object({}).passthrough()]))
      .max(16)
      .default([]),
  })
  .strict();

/** Per-node commit records: never copied between nodes. */
const NOT_COPIED = new Set(['twopc_decisions']);
const ROWS_PER_INSERT = 200;

/**
 * Adds an empty shard: migrates its primary (reference + shard tiers), copies every reference
 * table from global, records it in global's `cluster_shards`, and adds its pools to this
 * process's topology (`onAdded` gives the caller its write-behind buffer). It owns no district
 * until one is moved there. Other processes reach it once it is in their config (see docs/operating.md).
 */
export async function addShard(
  topology: Topology,
  shard: AddShardInput,
  env: NodeJS.ProcessEnv,
  onAdded: (nodes: ShardNodes) => void,
): Promise<AddShardResult> {
  const s = parseInput(input, shard, 'shard');
  if (topology.has(s.name)) throw new NameTakenError('shard', s.name);
  const resolve = (node: unknown, field: string): NodeAddress => {
    const r = resolveNode(node as NodeInput, field, env);
    if ('field' in r) throw new ConfigError([r]);
    return r;
  };
  // The cluster's TLS applies to the new shard as to every configured node (a node object's own `tls` wins).
  const withTls = (input: unknown, node: NodeAddress): NodeAddress =>
    (typeof input === 'object' && input !== null && 'tls' in input) || !topology.config.tls ? node : Object.assign(node, { tls: topology.config.tls });
  const primary = withTls(s.primary, resolve(s.primary, 'primary'));
  const replicas = s.replicas.map((r, i) => withTls(r, resolve(r, `replicas.${i}`)));
  const migrated = await migrateNode({
    connection: connectionOptions(primary),
    database: primary.database,
    tiers: ['reference', 'shard'],
    label: `${s.name}-primary`,
  });
  // In the topology before the copy: reference writes from here on reach it too (INSERT IGNORE below keeps theirs).
  const nodes = topology.addShard({ name: s.name, primary, replicas });
  onAdded(nodes);
  const referenceRows: Record<string, number> = {};
  for (const table of await referenceTables()) {
    referenceRows[table] = await copyTable(topology.global.primary, nodes.primary, table);
  }
  await topology.global.primary.use('cluster_shard_add', (c) =>
    c.exec(
      `INSERT INTO cluster_shards (shard_name, primary_host, primary_port, database_name, replica_count) VALUES (?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE primary_host = VALUES(primary_host), primary_port = VALUES(primary_port),
         database_name = VALUES(database_name), replica_count = VALUES(replica_count)`,
      [s.name, primary.host, primary.port, primary.database, replicas.length],
    ),
  );
  return { name: s.name, migrations: migrated.applied, referenceRows };
}

/** The tables the reference tier creates (they live on global and every shard). */
async function referenceTables(): Promise<string[]> {
  const tables: string[] = [];
  for (const file of await listMigrationFiles('reference')) {
    for (const m of file.sql.matchAll(/CREATE TABLE IF NOT EXISTS\s+`?([A-Za-z0-9_]+)`?/gi)) {
      if (!NOT_COPIED.has(m[1]!) && !tables.includes(m[1]!)) tables.push(m[1]!);
    }
  }
  return tables;
}

/** Copies one table's rows from global (foreign keys off: tables come in file order, not key order). */
async function copyTable(from: NodePool, to: NodePool, table: string): Promise<number> {
  const rows = await from.use('reference_copy_read', (c) => c.rows(`SELECT * FROM ${ident(table)}`));
  if (rows.length === 0) return 0;
  const columns = Object.keys(rows[0]!);
  await to.use('reference_copy_write', async (c) => {
    await c.exec('SET SESSION foreign_key_checks = 0');
    try {
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
        const chunk = rows.slice(i, i + ROWS_PER_INSERT);
        const tuple = `(${columns.map(() => '?').join(', ')})`;
        await c.exec(
          `INSERT IGNORE INTO ${ident(table)} (${columns.map(ident).join(', ')}) VALUES ${chunk.map(() => tuple).join(', ')}`,
          chunk.flatMap((row) => columns.map((col) => row[col] ?? null)),
        );
      }
    } finally {
      await c.exec('SET SESSION foreign_key_checks = 1');
    }
  });
  return rows.length;
}
