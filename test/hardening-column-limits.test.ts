import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShardUnavailableError, ValidationError } from '../src/index.js';
import { describeError } from '../src/ops/describe-error.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let cid: number;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  const { accountId } = await t.db.accounts.register({ username: 'limits', email: 'limits@zion.example', password: 'limits-pass-1' });
  cid = (await t.db.characters.create({ accountId, name: 'Limits', archetype: 'hacker', gender: 'male', districtId: 1 })).characterId;
}, 120_000);
afterAll(async () => t?.stop());

const count = async (node: string, sql: string) => {
  const [rows] = await (await t.sql(node)).query<mysql.RowDataPacket[]>(sql);
  return Number(rows[0]!.n);
};

describe('column limits and validation agree (a ValidationError, never a raw driver error)', () => {
  it('itemDescription is bounded in bytes (TEXT), names and subtypes in characters', async () => {
    const before = await count('global-primary', 'SELECT COUNT(*) AS n FROM item_templates');
    const description = '\u{1F576}'.repeat(20_000); // 40,000 UTF-16 units, 80,000 bytes
    const refused = t.db.items.defineTemplate({ itemName: 'Shades', itemType: 'clothing', itemDescription: description });
    await expect(refused).rejects.toBeInstanceOf(ValidationError);
    await expect(refused).rejects.toMatchObject({ fields: ['itemDescription'] });
    expect(await count('global-primary', 'SELECT COUNT(*) AS n FROM item_templates')).toBe(before);
    // What fits is taken: 16,383 four-byte characters are 65,532 bytes.
    await t.db.items.defineTemplate({
      itemName: '\u{1F576}'.repeat(64),
      itemType: 'clothing',
      itemDescription: '\u{1F576}'.repeat(16_383),
    });
    await expect(t.db.items.defineTemplate({ itemName: '\u{1F576}'.repeat(65), itemType: 'clothing' })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it('slotPosition is bounded to the INT column', async () => {
    const templateId = await t.db.items.defineTemplate({ itemName: 'Slot test', itemType: 'misc' });
    const refused = t.db.inventory.grant(cid, { templateId, slotPosition: 2 ** 31 });
    await expect(refused).rejects.toBeInstanceOf(ValidationError);
    await expect(refused).rejects.toMatchObject({ fields: ['slotPosition'] });
    expect((await t.db.inventory.grant(cid, { templateId, slotPosition: 2 ** 31 - 1 })).slotPosition).toBe(2 ** 31 - 1);
  });

  it('an error printed for an operator (CLI) never carries the statement a driver error holds', async () => {
    const node = t.sandbox.node('global-primary');
    const conn = await mysql.createConnection({ host: node.host, port: node.port, user: 'root' });
    let driverError: unknown;
    try {
      await conn.query("CREATE USER 'dup'@'%' IDENTIFIED BY 'Repl1cation-Secret'");
      await conn.query("CREATE USER 'dup'@'%' IDENTIFIED BY 'Repl1cation-Secret'");
    } catch (error) {
      driverError = error;
    } finally {
      await conn.end();
    }
    expect((driverError as { sql?: string }).sql).toContain('Repl1cation-Secret');
    for (const error of [driverError, new ShardUnavailableError('global-primary', { cause: driverError })]) {
      const line = describeError(error);
      expect(line).not.toContain('Repl1cation-Secret');
      expect(line.length).toBeGreaterThan(0);
    }
  });
});
