import { createHash } from 'node:crypto';
import { ForbiddenError, IdempotencyKeyReusedError, InsufficientFundsError, NotFoundError, RequirementError } from '../errors.js';
import type { PooledConnection } from '../pool/pooled-connection.js';
import { lockCharacter } from './character-lock.js';

/** One treasury movement between a character (its shard) and an organization (global). */
export interface TreasuryMove {
  kind: 'deposit' | 'withdraw';
  organizationId: number;
  characterId: number;
  amount: number;
  idempotencyKey?: string;
}

/** Permission bit that allows withdrawals (the leader always may). */
const TREASURY_PERMISSION = 1;

/**
 * The body of a deposit or withdrawal inside a shard+global two-phase commit. Locks in the
 * fixed order character row (shard) then organization and membership (global), so concurrent
 * moves never wait on each other in a cycle. The ledger row on the shard carries the
 * idempotency key (hashed, namespaced): a retry with the same key and the same request is
 * reported as replayed; with another request it is refused.
 */
export async function moveTreasuryMoney(
  shard: PooledConnection,
  shardName: string,
  global: () => Promise<PooledConnection>,
  move: TreasuryMove,
): Promise<{ money: number; treasury: number; replayed: boolean }> {
  const type = move.kind === 'deposit' ? 'organization_deposit' : 'organization_withdrawal';
  const reason = `organization ${move.organizationId}`;
  const key =
    move.idempotencyKey === undefined ? null : `org:${createHash('sha256').update(move.idempotencyKey).digest('hex').slice(0, 60)}`;
  const character = await lockCharacter(shard, move.characterId, shardName);
  const g = await global();
  if (key) {
    const [earlier] = await shard.rows<{
      transaction_type: string;
      from_character_id: number | null;
      to_character_id: number | null;
      money_amount: number;
      transaction_reason: string;
    }>(
      'SELECT transaction_type, from_character_id, to_character_id, money_amount, transaction_reason FROM transaction_history WHERE idempotency_key = ?',
      [key],
    );
    if (earlier) {
      const who = Number(earlier.from_character_id ?? earlier.to_character_id);
      const same =
        earlier.transaction_type === type &&
        who === move.characterId &&
        Number(earlier.money_amount) === move.amount &&
        earlier.transaction_reason === reason;
      if (!same) throw new IdempotencyKeyReusedError(move.idempotencyKey!);
      const [org] = await g.rows<{ treasury_amount: number | string }>(
        'SELECT treasury_amount FROM organizations WHERE organization_id = ?',
        [move.organizationId],
      );
      return { money: Number(character.money), treasury: Number(org?.treasury_amount ?? 0), replayed: true };
    }
  }
  const [org] = await g.rows<{ treasury_amount: number | string; leader_id: number | null }>(
    'SELECT treasury_amount, leader_id FROM organizations WHERE organization_id = ? FOR UPDATE',
    [move.organizationId],
  );
  if (!org) throw new NotFoundError('organization', move.organizationId);
  const [member] = await g.rows<{ permissions: number }>(
    'SELECT permissions FROM organization_members WHERE organization_id = ? AND character_id = ? FOR UPDATE',
    [move.organizationId, move.characterId],
  );
  if (!member)
    throw new ForbiddenError(
      `organization ${move.kind}`,
      `character ${move.characterId} is not a member of organization ${move.organizationId}`,
    );
  const balance = Number(character.money);
  const treasury = Number(org.treasury_amount);
  let money: number;
  let after: number;
  if (move.kind === 'deposit') {
    if (balance < move.amount) throw new InsufficientFundsError(move.characterId, move.amount, balance);
    money = balance - move.amount;
    after = treasury + move.amount;
  } else {
    const allowed = Number(org.leader_id) === move.characterId || (Number(member.permissions) & TREASURY_PERMISSION) !== 0;
    if (!allowed) throw new ForbiddenError('organization withdraw', `character ${move.characterId} has no treasury permission`);
    if (treasury < move.amount)
      throw new RequirementError('treasury', `organization ${move.organizationId} has ${treasury}, needs ${move.amount}`);
    money = balance + move.amount;
    after = treasury - move.amount;
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
      reason,
      character.district_id,
      key,
    ],
  );
  await g.exec('UPDATE organizations SET treasury_amount = ? WHERE organization_id = ?', [after, move.organizationId]);
  if (move.kind === 'deposit') {
    await g.exec(
      `UPDATE organization_members SET total_contributions = LEAST(total_contributions + ?, 2147483647), last_contribution = NOW()
        WHERE organization_id = ? AND character_id = ?`,
      [move.amount, move.organizationId, move.characterId],
    );
  }
  return { money, treasury: after, replayed: false };
}
