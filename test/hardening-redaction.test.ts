import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, openCluster, resolveClusterConfig, type Cluster } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

const PASSWORD = 'p/a@ss:w0rd#S3cr3t';
let t: TestCluster;
let db: Cluster;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  for (const node of ['global-primary', 'alpha-primary', 'beta-primary']) {
    const conn = await t.sql(node);
    await conn.query("CREATE USER IF NOT EXISTS 'redacted'@'%' IDENTIFIED BY ?", [PASSWORD]);
    await conn.query("GRANT ALL ON *.* TO 'redacted'@'%'");
  }
  // Every node as a URL carrying the password, escaped as a URL must.
  const withPassword = (url: unknown) => String(url).replace('mysql://root@', `mysql://redacted:${encodeURIComponent(PASSWORD)}@`);
  db = await openCluster({
    ...t.rootConfig,
    global: { ...t.rootConfig.global, primary: withPassword(t.rootConfig.global.primary) },
    shards: t.rootConfig.shards.map((s) => ({ ...s, primary: withPassword(s.primary) })),
  });
  // Live connections in every pool, so their driver configs exist too.
  const { accountId } = await db.accounts.register({ username: 'redact', email: 'redact@zion.example', password: 'redact-pass-1' });
  await db.characters.create({ accountId, name: 'Redact', archetype: 'spy', gender: 'male', districtId: 1 });
}, 120_000);
afterAll(async () => {
  await db?.close().catch(() => {});
  await t?.stop();
});

describe('passwords never printed', () => {
  it('the cluster really uses the password (so the checks below look at live objects)', () => {
    expect(db.config.global.primary.password).toBe(PASSWORD);
    expect(db.config.global.primary.user).toBe('redacted');
  });

  it('console.log(db), db.config, pools and their addresses show *** instead', () => {
    const shown = [
      inspect(db, { depth: 8 }),
      inspect(db.config, { depth: 8 }),
      JSON.stringify(db.config),
      ...db.pools().map((p) => inspect(p, { depth: 8 })),
      ...db.pools().map((p) => inspect(p.address)),
      ...db.pools().map((p) => JSON.stringify(p.address)),
    ];
    for (const text of shown) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(encodeURIComponent(PASSWORD));
      expect(text).not.toContain('S3cr3t');
    }
    expect(JSON.stringify(db.config.global.primary)).toContain('"password":"***"');
  });

  it('a malformed URL with / or @ in its password is reported without the password', () => {
    for (const url of ['mysql://root:ab/cd@ef@[bad-host:3306/mxo_global', 'mysql://root:x@y:z@[host/db']) {
      let error: unknown;
      try {
        resolveClusterConfig({ global: { primary: url }, shards: [{ name: 'alpha', primary: url, districts: [1] }] });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toContain('root:***@');
      for (const secret of ['ab/cd', 'cd@ef', 'x@y', 'y:z']) expect(message).not.toContain(secret);
    }
  });
});
