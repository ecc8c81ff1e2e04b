/**
 * A district server for test/presence.test.ts:
 *   node --import tsx test/support/presence-child.ts <config file> <serverId> '<ids JSON>' <ttlSec>
 * Prints { event: 'ready' } once open; on "go" (stdin) it claims every character at once, then every 250 ms heartbeats what it holds
 * and tries again to claim what it does not. Each success is a JSON line on stdout:
 * { event: 'claim' | 'heartbeat', characterId, fencingToken, expiresAt } (expiresAt from the
 * database's clock), so the parent knows exactly until when this process believed it held each one.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { openCluster, PresenceHeldError, PresenceLostError } from '../../src/index.js';

const [configPath, serverId, idsJson, ttl] = process.argv.slice(2) as [string, string, string, string];
const ids = JSON.parse(idsJson) as number[];
const ttlSec = Number(ttl);
const emit = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);

const db = await openCluster({
  ...JSON.parse(readFileSync(configPath, 'utf8')),
  recovery: { intervalMs: 0, gracePeriodMs: 60_000 },
  maintenance: { intervalMs: 0 },
});
const held = new Map<number, number>(); // characterId -> fencing token

async function tryClaim(characterId: number): Promise<void> {
  try {
    const claim = await db.presence.claim(characterId, { serverId, districtId: 1, ttlSec });
    held.set(characterId, claim.fencingToken);
    emit({ event: 'claim', characterId, fencingToken: claim.fencingToken, expiresAt: claim.expiresAt.toISOString() });
  } catch (error) {
    if (!(error instanceof PresenceHeldError)) throw error;
  }
}

async function heartbeat(characterId: number, fencingToken: number): Promise<void> {
  try {
    const { expiresAt } = await db.presence.heartbeat(characterId, fencingToken);
    emit({ event: 'heartbeat', characterId, fencingToken, expiresAt: expiresAt.toISOString() });
  } catch (error) {
    if (!(error instanceof PresenceLostError)) throw error;
    held.delete(characterId);
    emit({ event: 'lost', characterId, fencingToken });
  }
}

emit({ event: 'ready' });
const input = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => input.once('line', () => resolve()));
emit({ event: 'started' });
for (;;) {
  await Promise.all(ids.map((id) => (held.has(id) ? heartbeat(id, held.get(id)!) : tryClaim(id))));
  emit({ event: 'round', held: [...held.keys()].sort((a, b) => a - b) });
  await new Promise((r) => setTimeout(r, 250));
}
