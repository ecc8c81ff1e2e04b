/**
 * The least-privilege accounts: `db.createUsers()` as root, then the library runs as mxo_app
 * (not root) through a cross-shard trade (XA 2PC) and through recovery of a branch another
 * mxo_app session prepared and still holds (XA RECOVER, KILL, XA COMMIT). Also the measured
 * MariaDB 10.11 facts the grants rest on, and what each account must NOT be able to do.
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCluster, ValidationError, type Cluster } from '../src/index.js';
import type { ClusterConfigInput } from '../src/config/schema.js';
import { USER_SPECS } from '../src/ops/user-grants.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { readWorld, waitPastGrace, xaRecoverAll } from './support/twopc-invariants.js';
import { seedCharacters } from './support/twopc-world.js';

const ENV = {
  MXO_APP_PASSWORD: 'app-Secret-pw-0001',
  MXO_MIGRATE_PASSWORD: 'migrate-Secret-pw-02',
  MXO_BACKUP_PASSWORD: 'backup-Secret-pw-003',
  MXO_REPL_PASSWORD: 'repl-Secret-pw-0004',
  MXO_MONITOR_PASSWORD: 'monitor-Secret-pw-05',
};
const GRACE_MS = 1_000;

let t: TestCluster;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 1, as: 'root' });
}, 120_000);
afterAll(async () => t?.stop());

/** The sandbox's config with every node logging in as `user` (password from the env). */
function configAs(user: string, extra: Partial<ClusterConfigInput> = {}): ClusterConfigInput {
  const as = (url: string) => url.replace('mysql://root@', `mysql://${user}@`);
  const c = t.sandbox.config;
  return {
    global: { primary: as(c.global.primary), replicas: c.global.replicas.map(as) },
    shards: c.shards.map((s) => ({ ...s, primary: as(s.primary), replicas: s.replicas.map(as) })),
    recovery: { intervalMs: 0, gracePeriodMs: GRACE_MS },
    ...extra,
  };
}

function connectAs(user: string, password: string, node: string): Promise<mysql.Connection> {
  const n = t.sandbox.node(node);
  return mysql.createConnection({
    host: n.host,
    port: n.port,
    user,
    password,
    database: node.startsWith('global') ? 'mxo_global' : 'mxo_shard',
  });
}

/** `{ 'object': [privileges, sorted] }` from GRANT lines (the server reorders privileges). */
function privilegesByObject(lines: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const line of lines) {
    const m = /^GRANT (.*?) ON (\S+) TO/.exec(line)!;
    out[m[2]!] = m[1]!.split(', ').sort();
  }
  return out;
}

async function errnoOf(p: Promise<unknown>): Promise<number | undefined> {
  return p.then(
    () => undefined,
    (e: { errno?: number }) => e.errno,
  );
}

describe('users', () => {
  it('refuses before any change when a password variable is missing or short, naming it', async () => {
    const error = await t.db.createUsers({ env: { ...ENV, MXO_APP_PASSWORD: undefined, MXO_REPL_PASSWORD: 'short' } }).catch((e) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.fields).toEqual(['MXO_APP_PASSWORD', 'MXO_REPL_PASSWORD']);
    const conn = await t.sql('alpha-primary');
    const [rows] = (await conn.query("SELECT User FROM mysql.user WHERE User LIKE 'mxo\\_%'")) as unknown as [unknown[]];
    expect(rows).toEqual([]);
  });

  it('creates the five accounts on every primary (replicas too, by replication) with exactly the printed grants', async () => {
    const report = await t.db.createUsers({ env: ENV });
    expect(report.nodes.map((n) => n.node)).toEqual(['global-primary', 'alpha-primary', 'beta-primary']);
    expect(JSON.stringify(report)).not.toContain(ENV.MXO_APP_PASSWORD);
    await t.db.waitForReplicas(30_000);
    for (const { name: node } of t.sandbox.nodes) {
      const printed = report.nodes.find((n) => n.node === node.replace(/-replica-\d+$/, '-primary'))!.statements;
      const conn = await t.sql(node);
      for (const spec of USER_SPECS) {
        const [rows] = (await conn.query(`SHOW GRANTS FOR '${spec.user}'@'%'`)) as unknown as [Array<Record<string, string>>];
        const inForce = privilegesByObject(rows.map((g) => Object.values(g)[0]!));
        const stated = privilegesByObject(printed.filter((st) => st.startsWith('GRANT') && st.endsWith(`'${spec.user}'@'%'`)));
        if (!stated['*.*']) stated['*.*'] = ['USAGE'];
        expect(inForce, `${spec.user} on ${node}`).toEqual(stated);
      }
    }
    // Idempotent: a second run changes nothing and succeeds.
    await t.db.createUsers({ env: ENV });
  });

  it('SHOW GRANTS on every node equals the expected set, written out here (an extra privilege anywhere fails)', async () => {
    await t.db.waitForReplicas(30_000);
    for (const { name: node, shard } of t.sandbox.nodes) {
      const global = shard === 'global';
      const db = global ? 'mxo_global' : 'mxo_shard';
      const conn = await t.sql(node);
      const [tableRows] = (await conn.query(
        "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' AND TABLE_NAME <> 'schema_migrations'",
        [db],
      )) as unknown as [Array<{ t: string }>];
      const tables = tableRows.map((r) => r.t);
      const [viewRows] = (await conn.query("SELECT TABLE_NAME AS t FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?", [db])) as unknown as [
        Array<{ t: string }>,
      ];
      const views = Object.fromEntries(viewRows.map((r) => [`\`${db}\`.\`${r.t}\``, ['SELECT']]));
      expect(viewRows.length, node).toBe(global ? 0 : 2);
      expect(tables.length, node).toBeGreaterThan(15);
      const each = (privileges: (table: string) => string[] | undefined) =>
        Object.fromEntries(tables.flatMap((table) => (privileges(table) ? [[`\`${db}\`.\`${table}\``, privileges(table)!.sort()]] : [])));
      const dml = ['DELETE', 'INSERT', 'SELECT', 'UPDATE'];
      const secret = ['accounts', 'account_security', 'account_sessions', 'account_login_keys', 'login_throttle', 'presence_handoffs'];
      const expected: Record<string, Record<string, string[]>> = {
        mxo_app: {
          '*.*': ['SLAVE MONITOR'],
          [`\`${db}\`.*`]: ['EXECUTE'],
          [`\`${db}\`.\`schema_migrations\``]: ['SELECT'],
          ...each((table) =>
            global && ['cluster_shards', 'district_placement', 'district_moves', 'shard_primaries'].includes(table)
              ? ['SELECT']
              : !global && ['system_logs', 'player_action_logs', 'chat_logs'].includes(table)
                ? ['INSERT', 'SELECT', 'UPDATE']
                : dml,
          ),
          ...views,
        },
        mxo_monitor: {
          '*.*': ['BINLOG MONITOR', 'PROCESS', 'SLAVE MONITOR'],
          [`\`${db}\`.\`schema_migrations\``]: ['SELECT'],
          ...each((table) => (global && secret.includes(table) ? undefined : ['SELECT'])),
          ...views,
        },
        mxo_backup: {
          '*.*': ['RELOAD', 'SLAVE MONITOR'],
          [`\`${db}\`.*`]: ['EVENT', 'LOCK TABLES', 'SELECT', 'SHOW VIEW', 'TRIGGER'],
          '`mysql`.`proc`': ['SELECT'],
        },
        mxo_repl: { '*.*': ['REPLICATION SLAVE'] },
        mxo_migrate: {
          '*.*': ['SLAVE MONITOR'],
          [`\`${db}\`.*`]: [
            'ALTER', 'ALTER ROUTINE', 'CREATE', 'CREATE ROUTINE', 'CREATE TEMPORARY TABLES', 'CREATE VIEW', 'DELETE', 'DROP', 'EVENT',
            'EXECUTE', 'INDEX', 'INSERT', 'LOCK TABLES', 'REFERENCES', 'SELECT', 'SHOW VIEW', 'TRIGGER', 'UPDATE',
          ],
        },
      };
      for (const [user, want] of Object.entries(expected)) {
        const [rows] = (await conn.query(`SHOW GRANTS FOR '${user}'@'%'`)) as unknown as [Array<Record<string, string>>];
        expect(privilegesByObject(rows.map((g) => Object.values(g)[0]!)), `${user} on ${node}`).toEqual(want);
      }
    }
  });

  it('the library runs as mxo_app: a cross-shard XA trade, then recovery of a branch held by a frozen mxo_app session', async () => {
    let freeze: ((gtrid: string) => void) | undefined;
    let thaw!: () => void;
    const frozen = new Promise<void>((r) => (thaw = r));
    const app: Cluster = await openCluster(configAs('mxo_app'), {
      env: { MXO_DB_PASSWORD: ENV.MXO_APP_PASSWORD },
      hooks: {
        onPhase: async (phase, info) => {
          if (phase === 'decided' && freeze) {
            const f = freeze;
            freeze = undefined;
            f(info.gtrid);
            await frozen;
          }
        },
      },
    });
    const recoverer = await openCluster(configAs('mxo_app'), { env: { MXO_DB_PASSWORD: ENV.MXO_APP_PASSWORD } });
    try {
      const { characters } = await seedCharacters(app, { districts: [1, 4], count: 2, money: 500, itemsEach: 1, prefix: 'usr' });
      const [a, b] = characters as [(typeof characters)[0], (typeof characters)[0]];
      expect(a.shard).not.toBe(b.shard);
      const ok = await app.trades.execute({
        initiator: { characterId: a.id, money: 100, itemIds: a.items },
        recipient: { characterId: b.id, money: 0, itemIds: [] },
      });
      expect(ok.crossShard).toBe(true);

      // The coordinator freezes after the commit decision with both branches prepared and its
      // sessions open: recovery (another process, same account) must end them and commit.
      const gtrid = new Promise<string>((r) => (freeze = r));
      const stuck = app.trades.execute({
        initiator: { characterId: b.id, money: 50, itemIds: a.items },
        recipient: { characterId: a.id, money: 0, itemIds: [] },
      });
      stuck.catch(() => {});
      const id = await gtrid;
      expect(Object.values(await xaRecoverAll(t.sandbox)).flat().length).toBeGreaterThan(0);
      await waitPastGrace(id, GRACE_MS);
      const report = await recoverer.recover();
      expect(report.committed.length).toBeGreaterThan(0);
      expect(report.pending).toEqual([]);
      expect(Object.values(await xaRecoverAll(t.sandbox)).flat()).toEqual([]);
      const world = await readWorld(t.sandbox, [a.id, b.id]);
      expect(world.problems).toEqual([]);
      expect(world.totalMoney).toBe(1_000);
      expect(world.items.get(a.items[0]!)).toBe(a.id); // there and back again
      thaw();
      await stuck.catch(() => {});
    } finally {
      thaw();
      await recoverer.close();
      await app.close().catch(() => {});
    }
  }, 60_000);

  it('MariaDB 10.11 facts behind the grants: XA RECOVER sees all, COMMIT of a detached branch needs no privilege, KILL across accounts needs CONNECTION ADMIN', async () => {
    const monitor = await connectAs('mxo_monitor', ENV.MXO_MONITOR_PASSWORD, 'alpha-primary');
    const app = await connectAs('mxo_app', ENV.MXO_APP_PASSWORD, 'alpha-primary');
    const app2 = await connectAs('mxo_app', ENV.MXO_APP_PASSWORD, 'alpha-primary');
    try {
      const root = await t.sql('alpha-primary');
      await root.query('CREATE TABLE IF NOT EXISTS facts_scratch (id INT PRIMARY KEY)');
      await root.query("GRANT SELECT, INSERT ON mxo_shard.facts_scratch TO 'mxo_app'@'%'");
      await app.query("XA START 'facts', 'b1'");
      await app.query('INSERT INTO facts_scratch VALUES (1)');
      await app.query("XA END 'facts', 'b1'");
      await app.query("XA PREPARE 'facts', 'b1'");
      const [[{ id }]] = (await app.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]];
      // Another account lists the branch (no privilege needed to see others' branches).
      const [listed] = (await monitor.query('XA RECOVER')) as unknown as [Array<{ data: string }>];
      expect(listed.map((r) => String(r.data))).toContain('factsb1');
      // Another account cannot end the owner's session: PROCESS is not enough (1095).
      expect(await errnoOf(monitor.query('KILL CONNECTION ?', [id]))).toBe(1095);
      // While the owner lives, nobody else can commit its branch (1397 XAER_NOTA).
      expect(await errnoOf(app2.query("XA COMMIT 'facts', 'b1'"))).toBe(1397);
      // The same account can end it without any privilege, and then commit the detached branch.
      await app2.query('KILL CONNECTION ?', [id]);
      for (let i = 0; i < 50; i++) {
        const [rows] = (await app2.query('SELECT ID FROM information_schema.PROCESSLIST WHERE ID = ?', [id])) as unknown as [unknown[]];
        if (rows.length === 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await app2.query("XA COMMIT 'facts', 'b1'");
      const [after] = (await app2.query('XA RECOVER')) as unknown as [unknown[]];
      expect(after).toEqual([]);
      const [rows] = (await app2.query('SELECT id FROM facts_scratch')) as unknown as [unknown[]];
      expect(rows).toEqual([{ id: 1 }]);
    } finally {
      for (const c of [monitor, app, app2]) await c.end().catch(() => c.destroy());
    }
  });

  it('each account is refused what it does not need, on every node (primaries and replicas)', async () => {
    await t.db.waitForReplicas(30_000);
    const denied = [1142, 1044, 1045, 1227, 1143];
    for (const { name: node, shard, role } of t.sandbox.nodes) {
      const global = shard === 'global';
      const app = await connectAs('mxo_app', ENV.MXO_APP_PASSWORD, node);
      const monitor = await connectAs('mxo_monitor', ENV.MXO_MONITOR_PASSWORD, node);
      const backup = await connectAs('mxo_backup', ENV.MXO_BACKUP_PASSWORD, node);
      const repl = await connectAs('mxo_repl', ENV.MXO_REPL_PASSWORD, node).catch((e: { errno?: number }) => e);
      // On a replica read_only answers a write before the privilege check (1290: the account has
      // neither SUPER nor READ_ONLY ADMIN); its privileges there are the exact SHOW GRANTS above.
      const refused = role === 'replica' ? [...denied, 1290] : denied;
      try {
        const probe = async (who: string, c: mysql.Connection, sql: string) =>
          expect(/^(SELECT|SET GLOBAL)/.test(sql) ? denied : refused, `${who} on ${node}: ${sql}`).toContain(await errnoOf(c.query(sql)));
        const table = global ? 'accounts' : 'characters';
        for (const [who, c] of [['mxo_app', app], ['mxo_monitor', monitor], ['mxo_backup', backup]] as const) {
          await probe(who, c, `DROP TABLE ${table}`);
          await probe(who, c, `ALTER TABLE ${table} ADD COLUMN evil INT`);
          await probe(who, c, `CREATE INDEX evil ON ${table} (${table === 'accounts' ? 'account_id' : 'character_id'})`);
          await probe(who, c, 'CREATE TABLE evil (id INT)');
          await probe(who, c, `TRUNCATE TABLE ${table}`);
          await probe(who, c, "CREATE USER 'evil'@'%'");
          await probe(who, c, 'SELECT * FROM mysql.user');
          await probe(who, c, "SET GLOBAL read_only = 0");
          await probe(who, c, "GRANT SELECT ON *.* TO 'mxo_repl'@'%'");
          await probe(who, c, 'CREATE PROCEDURE evil() SELECT 1');
        }
        for (const [who, c] of [['mxo_monitor', monitor], ['mxo_backup', backup]] as const) {
          await probe(who, c, `UPDATE ${table} SET ${table === 'accounts' ? 'email' : 'money'} = ${table === 'accounts' ? "'x'" : '0'}`);
          await probe(who, c, `DELETE FROM ${table}`);
          await probe(who, c, `INSERT INTO ${table} () VALUES ()`);
        }
        if (global) {
          // H2: the cluster's shape is read-only to the application.
          await probe('mxo_app', app, "INSERT INTO cluster_shards (shard_name, primary_host, primary_port, database_name) VALUES ('evil', '203.0.113.9', 3306, 'mxo_shard')");
          await probe('mxo_app', app, "UPDATE district_placement SET shard_name = 'evil'");
          await probe('mxo_app', app, 'DELETE FROM district_placement');
          await probe('mxo_app', app, "INSERT INTO district_placement (district_id, shard_name) VALUES (999, 'evil')");
          await probe('mxo_app', app, "UPDATE district_moves SET state = 'done'");
          await probe('mxo_app', app, "UPDATE cluster_shards SET primary_host = '203.0.113.9'");
          // M8: the monitor reads no secret.
          for (const secret of ['accounts', 'account_security', 'account_sessions', 'account_login_keys', 'login_throttle', 'presence_handoffs']) {
            await probe('mxo_monitor', monitor, `SELECT * FROM ${secret}`);
          }
        } else {
          // M8: the audit trail cannot be erased or reshaped by the application.
          for (const log of ['system_logs', 'player_action_logs', 'chat_logs']) {
            await probe('mxo_app', app, `DELETE FROM ${log}`);
            await probe('mxo_app', app, `ALTER TABLE ${log} REORGANIZE PARTITION p_future INTO (PARTITION p_future VALUES LESS THAN (MAXVALUE))`);
            await probe('mxo_app', app, `ALTER TABLE ${log} DROP PARTITION p_future`);
            await probe('mxo_app', app, `DROP TABLE ${log}`);
            await probe('mxo_app', app, `TRUNCATE TABLE ${log}`);
          }
        }
        // No PROCESS: the application sees only its own sessions, never another account's SQL.
        const [others] = (await app.query("SELECT USER FROM information_schema.PROCESSLIST WHERE USER <> 'mxo_app'")) as unknown as [unknown[]];
        expect(others, node).toEqual([]);
        await probe('mxo_app', app, 'SELECT * FROM information_schema.INNODB_TRX');
        // mxo_repl has no database access at all (it only streams the binlog).
        expect((repl as { errno?: number }).errno, node).toBe(1044);
        // What they do need works.
        await app.query('SHOW SLAVE STATUS');
        await monitor.query('SHOW BINARY LOGS');
        await monitor.query(`SELECT COUNT(*) FROM ${global ? 'character_directory' : 'characters'}`);
        await backup.query(`SELECT COUNT(*) FROM ${table}`);
      } finally {
        for (const c of [app, monitor, backup]) await c.end().catch(() => c.destroy());
        if (!(repl instanceof Error) && 'end' in (repl as object)) await (repl as mysql.Connection).end();
      }
    }
  });
});
