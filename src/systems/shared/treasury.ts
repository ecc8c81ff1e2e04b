import { ForbiddenError, InsufficientFundsError, NotFoundError, RequirementError } from '../../errors.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import { lockCharacter } from '../../routing/character-lock.js';
import { keyed, remember, replayOf } from '../../routing/idempotency.js';

/** One treasury movement between a character (its shard) and an organization (global). */
export interface TreasuryMove {
  kind: 'deposit' | 'withdraw';
  organizationId: number;
  characterId: number;
  amount: number;
  idempotencyKey?: string;
}

/** One crew bank movement between a character (its shard) and its crew (global). */
export interface CrewBankMove {
  kind: 'deposit' | 'withdraw';
  crewId: number;
  characterId: number;
  amount: number;
  idempotencyKey?: string;
}

/** Permission bit that allows withdrawals (the leader always may). */
const TREASURY_PERMISSION = 1;

/** A bank on global (an organization's treasury, a crew's bank) as the shared body sees it. */
interface Bank {
  /** Ledger types, reason and the idempotency operation. */
  deposit: string;
  withdraw: string;
  reason: string;
  operation: string;
  /** Locks the bank and the character's membership; NotFoundError / ForbiddenError when not a member. */
  lock(g: PooledConnection, characterId: number): Promise<{ balance: number; mayWithdraw: boolean }>;
  /** Stores the new balance (and a deposit's contribution). */
  store(g: PooledConnection, characterId: number, after: number, deposited: number): Promise<void>;
}

/**
 * The body of a deposit or withdrawal inside a shard+global two-phase commit. Locks in the
 * fixed order character row (shard) then organization and membership (global), so concurrent
 * moves never wait on each other in a cycle. The idempotency key is stored on the shard
 * (src/routing/idempotency.ts): a retry with the same key and request replays the first result;
 * with another request it is refused.
 */
export async function moveTreasuryMoney(
  shard: PooledConnection,
  shardName: string,
  global: () => Promise<PooledConnection>,
  move: TreasuryMove,
): Promise<{ money: number; treasury: number; replayed: boolean }> {
  const org = move.organizationId;
  const { money, balance, replayed } = await moveBankMoney(shard, shardName, global, move, {
    deposit: 'organization_deposit',
    withdraw: 'organization_withdrawal',
    reason: `organization ${org}`,
    operation: 'organization_treasury',
    lock: async (g, cid) => {
      const [row] = await g.rows<{ treasury_amount: number | string; leader_id: number | null }>(
        'SELECT treasury_amount, leader_id FROM organizations WHERE organization_id = ? FOR UPDATE',
        [org],
      );
      if (!row) throw new NotFoundError('organization', org);
      const [member] = await g.rows<{ permissions: number }>(
        'SELECT permissions FROM organization_members WHERE organization_id = ? AND character_id = ? FOR UPDATE',
        [org, cid],
      );
      // A faction made of crews (the emulators' model): a member crew's captain or first mate
      // uses the bank like an officer; its other members may deposit.
      const [crewRole] = member
        ? []
        : await g.rows<{ position: string; captain_id: number | null }>(
            `SELECT m.position, c.captain_id FROM crew_members m JOIN crews c ON c.crew_id = m.crew_id
              WHERE m.character_id = ? AND c.organization_id = ? FOR UPDATE`,
            [cid, org],
          );
      if (!member && !crewRole)
        throw new ForbiddenError(
          `organization ${move.kind}`,
          `character ${cid} is not a member of organization ${org} nor of one of its crews`,
        );
      const officer = crewRole !== undefined && (Number(crewRole.captain_id) === cid || crewRole.position === 'lieutenant');
      const mayWithdraw =
        Number(row.leader_id) === cid || (member !== undefined && (Number(member.permissions) & TREASURY_PERMISSION) !== 0) || officer;
      if (move.kind === 'withdraw' && !mayWithdraw)
        throw new ForbiddenError('organization withdraw', `character ${cid} has no treasury permission`);
      return { balance: Number(row.treasury_amount), mayWithdraw };
    },
    store: async (g, cid, after, deposited) => {
      await g.exec('UPDATE organizations SET treasury_amount = ? WHERE organization_id = ?', [after, org]);
      if (deposited > 0)
        await g.exec(
          `UPDATE organization_members SET total_contributions = LEAST(total_contributions + ?, 2147483647), last_contribution = NOW()
            WHERE organization_id = ? AND character_id = ?`,
          [deposited, org, cid],
        );
    },
  });
  return { money, treasury: balance, replayed };
}

/**
 * A crew bank deposit or withdrawal, the same way: any member deposits; the captain and first
 * mates (position 'lieutenant') withdraw.
 */
export async function moveCrewBankMoney(
  shard: PooledConnection,
  shardName: string,
  global: () => Promise<PooledConnection>,
  move: CrewBankMove,
): Promise<{ money: number; bank: number; replayed: boolean }> {
  const crew = move.crewId;
  const { money, balance, replayed } = await moveBankMoney(shard, shardName, global, move, {
    deposit: 'crew_deposit',
    withdraw: 'crew_withdrawal',
    reason: `crew ${crew}`,
    operation: 'crew_bank',
    lock: async (g, cid) => {
      const [row] = await g.rows<{ bank_amount: number | string; captain_id: number | null }>(
        'SELECT bank_amount, captain_id FROM crews WHERE crew_id = ? FOR UPDATE',
        [crew],
      );
      if (!row) throw new NotFoundError('crew', crew);
      const [member] = await g.rows<{ position: string }>(
        'SELECT position FROM crew_members WHERE crew_id = ? AND character_id = ? FOR UPDATE',
        [crew, cid],
      );
      if (!member) throw new ForbiddenError(`crew ${move.kind}`, `character ${cid} is not a member of crew ${crew}`);
      const mayWithdraw = Number(row.captain_id) === cid || member.position === 'lieutenant';
      if (move.kind === 'withdraw' && !mayWithdraw)
        throw new ForbiddenError('crew withdraw', `character ${cid} is neither the captain nor a first mate of crew ${crew}`);
      return { balance: Number(row.bank_amount), mayWithdraw };
    },
    store: async (g, _cid, after) => {
      await g.exec('UPDATE crews SET bank_amount = ? WHERE crew_id = ?', [after, crew]);
    },
  });
  return { money, bank: balance, replayed };
}

async function moveBankMoney(
  shard: PooledConnection,
  shardName: string,
  global: () => Promise<PooledConnection>,
  move: { kind: 'deposit' | 'withdraw'; characterId: number; amount: number; idempotencyKey?: string },
  bank: Bank,
): Promise<{ money: number; balance: number; replayed: boolean }> {
  const type = move.kind === 'deposit' ? bank.deposit : bank.withdraw;
  const character = await lockCharacter(shard, move.characterId, shardName);
  const g = await global();
  // The key lives on the character's shard, in this same two-phase commit (the global side's
  // change commits or not with it), and moves with the character.
  const call = keyed(move.idempotencyKey, move.characterId, bank.operation, { kind: move.kind, bank: bank.reason, amount: move.amount });
  const earlier = call && (await replayOf<{ money: number; balance: number }>(shard, call));
  if (earlier) return { ...earlier, replayed: true };
  const { balance: held } = await bank.lock(g, move.characterId);
  const balance = Number(character.money);
  let money: number;
  let after: number;
  if (move.kind === 'deposit') {
    if (balance < move.amount) throw new InsufficientFundsError(move.characterId, move.amount, balance);
    money = balance - move.amount;
    after = held + move.amount;
  } else {
    if (held < move.amount) throw new RequirementError('treasury', `${bank.reason} has ${held}, needs ${move.amount}`);
    money = balance + move.amount;
    after = held - move.amount;
  }
  await shard.exec('UPDATE characters SET money = ? WHERE character_id = ?', [money, move.characterId]);
  await shard.exec(
    `INSERT INTO transaction_history (from_character_id, to_character_id, transaction_type, money_amount, transaction_reason, district_id, idempotency_key)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    [
      move.kind === 'deposit' ? move.characterId : null,
      move.kind === 'withdraw' ? move.characterId : null,
      type,
      move.amount,
      bank.reason,
      character.district_id,
      null,
    ],
  );
  await bank.store(g, move.characterId, after, move.kind === 'deposit' ? move.amount : 0);
  if (call) await remember(shard, call, { money, balance: after });
  return { money, balance: after, replayed: false };
}
