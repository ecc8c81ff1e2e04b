import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, ForbiddenError, NotFoundError, RequirementError, ValidationError, openCluster } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

// Crews and relationships: counts equal to rows, captaincy handed on, mutual flags on both
// sides across shards, and lock conflicts on global writes retried or surfaced as ConflictError.
let t: TestCluster;
let accountId: number;

beforeAll(async () => {
  t = await startTestCluster({
    shards: 2,
    replicasPerShard: 0,
    config: { pool: { max: 6, lockWaitTimeoutSec: 1 }, twoPhase: { statementTimeoutMs: 10_000, deadlockRetries: 5 } },
  });
  accountId = (await t.db.accounts.register({ username: 'crews', email: 'crews@zion.example', password: 'crew-pass-123' })).accountId;
});
afterAll(async () => t?.stop());

let n = 0;
async function character(districtId: number): Promise<number> {
  return (await t.db.characters.create({ accountId, name: `Crew${n++}`, archetype: 'spy', gender: 'female', districtId })).characterId;
}

async function globalRows(sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  const [rows] = await (await t.sql('global-primary')).query<RowDataPacket[]>(sql, params);
  return rows;
}

async function countsMatch(): Promise<void> {
  const drift = await globalRows(
    `SELECT c.crew_id, c.member_count, COUNT(m.character_id) AS n FROM crews c
       LEFT JOIN crew_members m ON m.crew_id = c.crew_id GROUP BY c.crew_id HAVING c.member_count <> n`,
  );
  expect(drift).toEqual([]);
}

describe('crews', () => {
  it('joins, kicks and leaves with counts equal to rows; the captain leaving hands the crew on; the last one out disbands it', async () => {
    const [captain, lieutenant, member, outsider] = [await character(1), await character(4), await character(2), await character(5)];
    const { crewId } = await t.db.social.createCrew({ captainId: captain, crewName: 'Nebuchadnezzar' });
    await t.db.social.joinCrew(crewId, member);
    await t.db.social.joinCrew(crewId, lieutenant);
    await (await t.sql('global-primary')).query("UPDATE crew_members SET position = 'lieutenant' WHERE character_id = ?", [lieutenant]);
    await countsMatch();
    expect((await globalRows('SELECT member_count FROM crews WHERE crew_id = ?', [crewId]))[0]!.member_count).toBe(3);

    await expect(t.db.social.joinCrew(crewId, member)).rejects.toBeInstanceOf(RequirementError);
    await expect(t.db.social.kickFromCrew(crewId, member, lieutenant)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(t.db.social.kickFromCrew(crewId, captain, outsider)).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.db.social.leaveCrew(crewId, outsider)).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.db.social.disbandCrew(crewId, member)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(t.db.social.joinCrew(0, member)).rejects.toBeInstanceOf(ValidationError);

    await t.db.social.kickFromCrew(crewId, captain, member);
    await countsMatch();
    // The captain leaves: the lieutenant (not the longer-serving member) takes over.
    await t.db.social.joinCrew(crewId, member);
    expect(await t.db.social.leaveCrew(crewId, captain)).toEqual({ captainId: lieutenant, disbanded: false });
    expect(await globalRows('SELECT captain_id, member_count FROM crews WHERE crew_id = ?', [crewId])).toEqual([
      { captain_id: lieutenant, member_count: 2 },
    ]);
    expect(await globalRows('SELECT position FROM crew_members WHERE character_id = ?', [lieutenant])).toEqual([{ position: 'captain' }]);
    await t.db.social.leaveCrew(crewId, lieutenant);
    expect(await t.db.social.leaveCrew(crewId, member)).toEqual({ captainId: null, disbanded: true });
    expect(await globalRows('SELECT crew_id FROM crews WHERE crew_id = ?', [crewId])).toEqual([]);
  });

  it('disbands a crew with its memberships and keeps counts right when a member account is deleted', async () => {
    const captain = await character(3);
    const { crewId } = await t.db.social.createCrew({ captainId: captain, crewName: 'Logos' });
    const { accountId: doomed } = await t.db.accounts.register({
      username: 'crewdoomed',
      email: 'crewdoomed@zion.example',
      password: 'doomed-123',
    });
    const { characterId } = await t.db.characters.create({
      accountId: doomed,
      name: 'CrewDoomed',
      archetype: 'spy',
      gender: 'male',
      districtId: 6,
    });
    await t.db.social.joinCrew(crewId, characterId);
    await t.db.accounts.delete(doomed);
    await countsMatch();
    expect(await t.db.social.disbandCrew(crewId, captain)).toEqual({ members: 1 });
    expect(await globalRows('SELECT * FROM crew_members WHERE crew_id = ?', [crewId])).toEqual([]);
  });
});

describe('relationships', () => {
  it('keeps is_mutual true on both sides across shards, and clears it when one side removes', async () => {
    const a = await character(1);
    const b = await character(4);
    expect((await t.db.social.setRelationship({ characterId: a, targetCharacterId: b, type: 'friend' })).isMutual).toBe(false);
    expect((await t.db.social.setRelationship({ characterId: b, targetCharacterId: a, type: 'friend' })).isMutual).toBe(true);
    const flag = async (shard: string, from: number, to: number) => {
      const [r] = await (
        await t.sql(`${shard}-primary`)
      ).query<RowDataPacket[]>('SELECT is_mutual FROM character_relationships WHERE character_id = ? AND target_character_id = ?', [
        from,
        to,
      ]);
      return r[0]?.is_mutual;
    };
    expect([await flag('alpha', a, b), await flag('beta', b, a)]).toEqual([1, 1]);
    expect(await t.db.social.listRelationships(a, { consistency: 'strong' })).toEqual([
      { characterId: a, targetCharacterId: b, type: 'friend', notes: null, isMutual: true },
    ]);
    expect(await t.db.social.removeRelationship(b, a)).toEqual({ removed: true });
    expect([await flag('alpha', a, b), await flag('beta', b, a)]).toEqual([0, undefined]);
    expect(await t.db.social.removeRelationship(b, a)).toEqual({ removed: false });
    expect(await t.db.social.removeRelationship(a, 999_999)).toEqual({ removed: false });
    await expect(t.db.social.removeRelationship(999_998, a)).rejects.toBeInstanceOf(NotFoundError);
    // A relationship to a character that was deleted since can still be removed.
    const { accountId: gone } = await t.db.accounts.register({
      username: 'crewgone',
      email: 'crewgone@zion.example',
      password: 'gone-pass-1',
    });
    const { characterId: ghost } = await t.db.characters.create({
      accountId: gone,
      name: 'Ghost',
      archetype: 'spy',
      gender: 'male',
      districtId: 5,
    });
    await t.db.social.setRelationship({ characterId: a, targetCharacterId: ghost, type: 'enemy' });
    await t.db.accounts.delete(gone);
    expect(await t.db.social.removeRelationship(a, ghost)).toEqual({ removed: true });
  });
});

describe('lock conflicts on global writes', () => {
  /**
   * Waits (polling the server, no fixed sleep) until the join's INSERT is running: from then on
   * the join holds the crew row and needs the holder's gap. (INNODB_TRX does not list the
   * library's waiting transaction on this server; the process list does.)
   */
  async function insertRunning(observer: Connection): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      const [rows] = await observer.query<RowDataPacket[]>(
        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE info LIKE 'INSERT INTO crew_members%'",
      );
      if (Number(rows[0]!.n) > 0) return;
      await new Promise((r) => setImmediate(r));
    }
    throw new Error('the join never reached its INSERT');
  }

  /**
   * Runs `join` into a deadlock with a root connection: the holder gap-locks the joiner's
   * (absent) membership, which the join's INSERT needs, and does more work than the join, so
   * InnoDB picks the join as the victim; then the holder asks for the crew row the join holds.
   */
  async function deadlockedJoin(crewId: number, joiner: number, join: () => Promise<void>): Promise<unknown> {
    const holder = await t.sql('global-primary');
    const observer = await t.sql('global-primary');
    await holder.query('BEGIN');
    await holder.query('SELECT * FROM crew_members WHERE character_id = ? FOR UPDATE', [joiner]);
    for (let i = 0; i < 20; i++) {
      await holder.query('INSERT INTO login_throttle (throttle_key, failures, window_started) VALUES (?, 0, NOW())', [`weight-${i}`]);
    }
    const running = join().then(
      () => undefined,
      (error: unknown) => error,
    );
    await insertRunning(observer);
    await holder.query('SELECT * FROM crews WHERE crew_id = ? FOR UPDATE', [crewId]); // closes the cycle: deadlock
    await holder.query('ROLLBACK');
    return running;
  }

  it('retries a crew join chosen as a deadlock victim, and it then succeeds', async () => {
    const captain = await character(1);
    const joiner = await character(4);
    const { crewId } = await t.db.social.createCrew({ captainId: captain, crewName: 'Hammer' });
    const retriesBefore = await retries('crew_join');
    expect(await deadlockedJoin(crewId, joiner, () => t.db.social.joinCrew(crewId, joiner))).toBeUndefined();
    expect(await retries('crew_join')).toBeGreaterThan(retriesBefore);
    expect(await globalRows('SELECT member_count FROM crews WHERE crew_id = ?', [crewId])).toEqual([{ member_count: 2 }]);
  });

  it('surfaces a deadlock that persists past the retries as ConflictError, with nothing written', async () => {
    // A second handle on the same servers whose router gives up at the first deadlock.
    const strict = await openCluster({ ...t.config, twoPhase: { statementTimeoutMs: 10_000, deadlockRetries: 0 } });
    try {
      const captain = await character(3);
      const joiner = await character(6);
      const { crewId } = await strict.social.createCrew({ captainId: captain, crewName: 'Vigilant' });
      const error = await deadlockedJoin(crewId, joiner, () => strict.social.joinCrew(crewId, joiner));
      expect(error).toBeInstanceOf(ConflictError);
      expect(await globalRows('SELECT character_id FROM crew_members WHERE crew_id = ?', [crewId])).toEqual([{ character_id: captain }]);
      expect(await globalRows('SELECT member_count FROM crews WHERE crew_id = ?', [crewId])).toEqual([{ member_count: 1 }]);
    } finally {
      await strict.close();
    }
  });

  it('surfaces a lock held past innodb_lock_wait_timeout as ConflictError, with nothing written', async () => {
    const captain = await character(2);
    const joiner = await character(5);
    const { crewId } = await t.db.social.createCrew({ captainId: captain, crewName: 'Osiris' });
    const holder = await t.sql('global-primary');
    await holder.query('BEGIN');
    await holder.query('SELECT * FROM crews WHERE crew_id = ? FOR UPDATE', [crewId]);
    await expect(t.db.social.joinCrew(crewId, joiner)).rejects.toBeInstanceOf(ConflictError);
    await holder.query('ROLLBACK');
    expect(await globalRows('SELECT character_id FROM crew_members WHERE crew_id = ?', [crewId])).toEqual([{ character_id: captain }]);
  });
});

async function retries(operation: string): Promise<number> {
  const text = await t.db.metrics.metrics();
  const line = text.split('\n').find((l) => l.startsWith('mxo_deadlock_retries_total{') && l.includes(`operation="${operation}"`));
  return line ? Number(line.split(' ').pop()) : 0;
}
