import type { NodePool } from '../pool/node-pool.js';
import type { PooledConnection } from '../pool/pooled-connection.js';
import { GLOBAL, type ShardNodes, type Topology } from '../routing/topology.js';

/** One broken invariant, named so an operator can find the rows. */
export interface Violation {
  check: 'money' | 'items' | 'directory' | 'memberships' | 'replicas';
  message: string;
}

/** What `verify` checked and what it found. */
export interface VerifyReport {
  ok: boolean;
  checked: { characters: number; items: number; ledgerRows: number; tables: number; replicas: number };
  violations: Violation[];
}

/** Tables compared between each primary and its replicas (every table of the tier). */
const MAX_LISTED = 20;

/**
 * Proves the cluster's invariants with plain SQL on every node (docs/design.md, "Money and items
 * leave a trail"):
 * - money: every character's balance equals the sum of its ledger (`transaction_history` on every
 *   shard it lived on; a cross-shard trade writes its rows on both shards and counts once);
 * - items: every item id exists in exactly one place across shards;
 * - directory: every directory row names the shard that holds the character, and every shard
 *   character has its directory row; what the login roster reads from the directory (district,
 *   world, character status, soft delete) equals the shard row;
 * - memberships: crews' and organizations' member counts equal their membership rows;
 * - replicas: every table's checksum on each replica equals its primary's at the same position.
 * Meant for a quiet moment (after a workload, before a backup): writes racing the checks can
 * show as violations, the replica check retries until it gets a stable position.
 */
export async function verifyCluster(topology: Topology): Promise<VerifyReport> {
  const violations: Violation[] = [];
  const add = (check: Violation['check'], messages: string[]) => {
    for (const message of messages.slice(0, MAX_LISTED)) violations.push({ check, message });
    if (messages.length > MAX_LISTED) violations.push({ check, message: `... and ${messages.length - MAX_LISTED} more` });
  };
  const perShard = await Promise.all(topology.shards.map((s) => readShardFacts(s.primary, s.key)));
  const directory = await topology.global.primary.use('verify_directory', (c) =>
    c.rows<DirectoryFacts>(
      'SELECT character_id, shard_name, district_id, world_id, character_status, deleted_at IS NOT NULL AS deleted FROM character_directory',
    ),
  );

  add('money', checkMoney(perShard));
  add('items', checkItems(perShard));
  add('directory', checkDirectory(perShard, directory));
  add('memberships', await topology.global.primary.use('verify_memberships', checkMemberships));
  const replicaResults = await Promise.all(topology.all().flatMap((nodes) => nodes.replicas.map((r) => compareReplica(nodes, r))));
  add(
    'replicas',
    replicaResults.flatMap((r) => r.mismatches),
  );

  return {
    ok: violations.length === 0,
    checked: {
      characters: perShard.reduce((n, s) => n + s.balances.size, 0),
      items: perShard.reduce((n, s) => n + s.items.length, 0),
      ledgerRows: perShard.reduce((n, s) => n + s.ledger.length, 0),
      tables: replicaResults.reduce((n, r) => n + r.tables, 0),
      replicas: replicaResults.length,
    },
    violations,
  };
}

interface LedgerRow {
  transaction_id: number;
  from_character_id: number | null;
  to_character_id: number | null;
  money_amount: number | string | null;
  related_trade_id: number | null;
}

/** The directory's copy of the shard row's fields the login roster shows. */
interface RosterFields {
  district_id: number;
  world_id: number | null;
  character_status: number;
  deleted: number;
}
type DirectoryFacts = RosterFields & { character_id: number; shard_name: string };

interface ShardFacts {
  shard: string;
  balances: Map<number, number>;
  roster: Map<number, RosterFields>;
  ledger: LedgerRow[];
  items: number[];
}

async function readShardFacts(primary: NodePool, shard: string): Promise<ShardFacts> {
  return primary.use('verify_shard', async (c) => {
    const characters = await c.rows<{ character_id: number; money: number | string } & RosterFields>(
      'SELECT character_id, money, district_id, world_id, character_status, deleted_at IS NOT NULL AS deleted FROM characters',
    );
    const ledger = await c.rows<LedgerRow>(
      `SELECT transaction_id, from_character_id, to_character_id, money_amount, related_trade_id
         FROM transaction_history WHERE money_amount <> 0`,
    );
    const items = await c.rows<{ item_id: number }>('SELECT item_id FROM character_inventory');
    return {
      shard,
      balances: new Map(characters.map((r) => [Number(r.character_id), Number(r.money)])),
      roster: new Map(characters.map((r) => [Number(r.character_id), r])),
      ledger,
      items: items.map((r) => Number(r.item_id)),
    };
  });
}

function checkMoney(shards: ShardFacts[]): string[] {
  const net = new Map<number, number>();
  const seenTradeRows = new Set<string>();
  for (const shard of shards) {
    for (const row of shard.ledger) {
      // A cross-shard trade writes the same two rows on both shards: count each direction once.
      if (row.related_trade_id !== null) {
        const key = `${row.related_trade_id}:${row.from_character_id}:${row.to_character_id}`;
        if (seenTradeRows.has(key)) continue;
        seenTradeRows.add(key);
      }
      const amount = Number(row.money_amount);
      if (row.from_character_id !== null) net.set(Number(row.from_character_id), (net.get(Number(row.from_character_id)) ?? 0) - amount);
      if (row.to_character_id !== null) net.set(Number(row.to_character_id), (net.get(Number(row.to_character_id)) ?? 0) + amount);
    }
  }
  const problems: string[] = [];
  for (const shard of shards) {
    for (const [characterId, balance] of shard.balances) {
      const expected = net.get(characterId) ?? 0;
      if (balance !== expected) {
        problems.push(`character ${characterId} on ${shard.shard}: balance ${balance}, ledger says ${expected}`);
      }
    }
  }
  return problems;
}

function checkItems(shards: ShardFacts[]): string[] {
  const where = new Map<number, string[]>();
  for (const shard of shards) for (const id of shard.items) where.set(id, [...(where.get(id) ?? []), shard.shard]);
  return [...where]
    .filter(([, places]) => places.length > 1)
    .map(([id, places]) => `item ${id} exists ${places.length} times (${places.join(', ')})`);
}

const ROSTER_FIELDS: Array<[keyof RosterFields, string]> = [
  ['district_id', 'district'],
  ['world_id', 'world'],
  ['character_status', 'status'],
  ['deleted', 'deleted'],
];

function checkDirectory(shards: ShardFacts[], directory: DirectoryFacts[]): string[] {
  const problems: string[] = [];
  const byId = new Map(directory.map((r) => [Number(r.character_id), r.shard_name]));
  const holders = new Map<number, string[]>();
  for (const shard of shards) for (const id of shard.balances.keys()) holders.set(id, [...(holders.get(id) ?? []), shard.shard]);
  const shardRow = new Map(shards.map((s) => [s.shard, s.roster]));
  for (const entry of directory) {
    const id = Number(entry.character_id);
    const shard = entry.shard_name;
    const held = holders.get(id) ?? [];
    if (!held.includes(shard)) {
      problems.push(`directory says character ${id} is on ${shard}; found on ${held.join(', ') || 'no shard'}`);
      continue;
    }
    // The roster reads these from the directory alone: they must equal the shard row.
    const row = shardRow.get(shard)!.get(id)!;
    for (const [field, label] of ROSTER_FIELDS) {
      const a = entry[field] === null ? null : Number(entry[field]);
      const b = row[field] === null ? null : Number(row[field]);
      if (a !== b) problems.push(`directory says character ${id}'s ${label} is ${a}; its row on ${shard} says ${b}`);
    }
  }
  for (const [id, held] of holders) {
    if (!byId.has(id)) problems.push(`character ${id} on ${held.join(', ')} has no directory row`);
    else if (held.length > 1) problems.push(`character ${id} exists on ${held.length} shards (${held.join(', ')})`);
  }
  return problems;
}

async function checkMemberships(c: PooledConnection): Promise<string[]> {
  const crews = await c.rows<{ crew_id: number; member_count: number; actual: number | string }>(
    `SELECT c.crew_id, c.member_count, (SELECT COUNT(*) FROM crew_members m WHERE m.crew_id = c.crew_id) AS actual FROM crews c`,
  );
  const orgs = await c.rows<{ organization_id: number; member_count: number; actual: number | string }>(
    `SELECT o.organization_id, o.member_count,
            (SELECT COUNT(*) FROM organization_members m WHERE m.organization_id = o.organization_id) AS actual
       FROM organizations o`,
  );
  return [
    ...crews
      .filter((r) => Number(r.member_count) !== Number(r.actual))
      .map((r) => `crew ${r.crew_id}: member_count ${r.member_count}, ${r.actual} member rows`),
    ...orgs
      .filter((r) => Number(r.member_count) !== Number(r.actual))
      .map((r) => `organization ${r.organization_id}: member_count ${r.member_count}, ${r.actual} member rows`),
  ];
}

/**
 * Compares table checksums of a replica with its primary at one GTID position: the primary's
 * checksums are taken between two reads of its position that agree (no write in between), then
 * the replica waits for that position. Retried a few times while writes keep coming.
 */
async function compareReplica(nodes: ShardNodes, replica: NodePool): Promise<{ tables: number; mismatches: string[] }> {
  const name = replica.identity.name;
  try {
    const tables = await nodes.primary.use('verify_tables', (c) =>
      c.rows<{ name: string }>(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name",
      ),
    );
    const list = tables.map((t) => `\`${t.name}\``).join(', ');
    if (list === '') return { tables: 0, mismatches: [] };
    for (let attempt = 0; attempt < 5; attempt++) {
      const stable = await nodes.primary.use('verify_checksum', async (c) => {
        const before = await position(c);
        const sums = await checksums(c, list);
        return before === (await position(c)) ? { position: before, sums } : undefined;
      });
      if (!stable) continue;
      return await replica.use('verify_checksum', async (c) => {
        const [wait] = await c.rows<{ r: number | null }>('SELECT MASTER_GTID_WAIT(?, 30) AS r', [stable.position]);
        if (Number(wait?.r) !== 0) return { tables: tables.length, mismatches: [`${name} did not reach ${stable.position} within 30 s`] };
        const sums = await checksums(c, list);
        const mismatches = [...stable.sums]
          .filter(([table, sum]) => sums.get(table) !== sum)
          .map(([table]) => `${name}: table ${table} differs from ${nodes.key === GLOBAL ? 'global' : nodes.key}'s primary`);
        return { tables: tables.length, mismatches };
      });
    }
    return { tables: tables.length, mismatches: [`${name}: the primary never held still long enough to compare (writes still running)`] };
  } catch (error) {
    return { tables: 0, mismatches: [`${name}: could not be checked (${(error as Error).message})`] };
  }
}

async function position(c: PooledConnection): Promise<string> {
  const [row] = await c.rows<{ p: string }>('SELECT @@GLOBAL.gtid_binlog_pos AS p');
  return String(row?.p ?? '');
}

async function checksums(c: PooledConnection, list: string): Promise<Map<string, string>> {
  const [rows] = await c.text(`CHECKSUM TABLE ${list}`);
  return new Map(
    (rows as Array<{ Table: string; Checksum: number | string | null }>).map((r) => [r.Table.split('.').pop()!, String(r.Checksum)]),
  );
}
