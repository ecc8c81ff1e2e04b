/**
 * Shards learned from the database must be approved by the config (issue 23, H2): global's
 * `cluster_shards` and `district_placement` rows forged to send a district to a host of the
 * attacker's choosing are refused and logged, and no connection is made to that host; the same
 * rows with the shard approved in the config (exact address) are followed.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCluster } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let rogue: net.Server;
let rogueConnections = 0;
let roguePort = 0;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  // The "attacker's" host: counts connections and closes them (a process that connects has
  // already offered its credentials to whoever answers).
  rogue = net.createServer((socket) => {
    rogueConnections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => rogue.listen(0, '127.0.0.1', resolve));
  roguePort = (rogue.address() as net.AddressInfo).port;
  const global = await t.sql('global-primary');
  await global.query("INSERT INTO cluster_shards (shard_name, primary_host, primary_port, database_name) VALUES ('rogue', '127.0.0.1', ?, 'mxo_shard')", [
    roguePort,
  ]);
  await global.query("UPDATE district_placement SET shard_name = 'rogue', version = version + 1 WHERE district_id = 5");
}, 120_000);
afterAll(async () => {
  rogue?.close();
  await t?.stop();
});

describe('shards learned from global', () => {
  it('a placement naming a shard the config does not approve is refused and logged, and no connection is made', async () => {
    const warnings: string[] = [];
    const db = await openCluster(t.appConfig, { warn: (m) => warnings.push(m) });
    try {
      expect(db.shardOfDistrict(5)).toBe('beta');
      // Writes for the district still go to its configured shard, never to the rogue host.
      await db.world.spawnObject({ districtId: 5, objectType: 'npc', objectName: 'Merovingian', position: { x: 0, y: 0, z: 0 } });
      expect(db.shardOfDistrict(5)).toBe('beta');
      expect(rogueConnections).toBe(0);
      expect(warnings).toEqual([
        expect.stringMatching(/shard "rogue" recorded on global at 127\.0\.0\.1:\d+\/mxo_shard is not in this process's config/),
        expect.stringMatching(/district 5 placed on shard "rogue", which this process's config does not approve: placement refused/),
      ]);
    } finally {
      await db.close();
    }
  });

  it('an approved shard at another address is refused too', async () => {
    const warnings: string[] = [];
    const db = await openCluster(
      { ...t.appConfig, approvedShards: [{ name: 'rogue', host: '127.0.0.1', port: roguePort + 1, database: 'mxo_shard' }] },
      { warn: (m) => warnings.push(m) },
    );
    try {
      expect(db.shardOfDistrict(5)).toBe('beta');
      expect(rogueConnections).toBe(0);
      expect(warnings[0]).toMatch(/but the config approves it at 127\.0\.0\.1:\d+\/mxo_shard: not connecting/);
    } finally {
      await db.close();
    }
  });

  it('the same rows, with the shard approved at that address, are followed (the refusal above is the approval check)', async () => {
    const db = await openCluster(
      { ...t.appConfig, approvedShards: [{ name: 'rogue', host: '127.0.0.1', port: roguePort, database: 'mxo_shard' }] },
      { warn: () => {} },
    );
    try {
      expect(db.shardOfDistrict(5)).toBe('rogue');
      await expect(
        db.world.spawnObject({ districtId: 5, objectType: 'npc', objectName: 'Persephone', position: { x: 0, y: 0, z: 0 } }),
      ).rejects.toBeTruthy();
      expect(rogueConnections).toBeGreaterThan(0);
    } finally {
      await db.close().catch(() => {});
    }
  });
});
