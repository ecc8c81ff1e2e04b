import { RequirementError } from '../../errors.js';
import type { MissionTemplate } from '../shared/mission-template.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';

/**
 * Every requirement of accepting `template`, checked inside the caller's transaction (which holds
 * the character's row lock), in a fixed order: active, status, repeatable, cooldown, level,
 * faction, prerequisite, item. The first that fails throws a {@link RequirementError} naming it.
 */
export async function checkAcceptance(conn: PooledConnection, characterId: number, template: MissionTemplate): Promise<void> {
  const mid = template.missionId;
  if (!template.isActive) throw new RequirementError('active', `mission ${mid} is not active`);
  const [current] = await conn.rows<{ mission_status: string }>(
    'SELECT mission_status FROM character_missions WHERE character_id = ? AND mission_id = ? FOR UPDATE',
    [characterId, mid],
  );
  if (current && (current.mission_status === 'accepted' || current.mission_status === 'in_progress')) {
    throw new RequirementError('status', `mission ${mid} is already ${current.mission_status}`);
  }
  const [done] = await conn.rows<{ completions: number | string; since: number | string | null }>(
    `SELECT COUNT(*) AS completions, TIMESTAMPDIFF(SECOND, MAX(completion_date), NOW()) AS since
       FROM mission_history WHERE character_id = ? AND mission_id = ? AND completion_status = 'completed'`,
    [characterId, mid],
  );
  if (Number(done?.completions ?? 0) > 0) {
    if (!template.repeatable) throw new RequirementError('repeatable', `mission ${mid} is not repeatable and was completed`);
    const since = Number(done!.since ?? 0);
    if (since < template.cooldownSec) {
      throw new RequirementError('cooldown', `mission ${mid} can be repeated in ${template.cooldownSec - since} s`);
    }
  }
  const [character] = await conn.rows<{ level: number; faction: string }>('SELECT level, faction FROM characters WHERE character_id = ?', [
    characterId,
  ]);
  if (Number(character!.level) < template.levelRequirement) {
    throw new RequirementError('level', `level ${template.levelRequirement} needed, character is level ${character!.level}`);
  }
  if (template.factionRequirement && character!.faction !== template.factionRequirement) {
    throw new RequirementError('faction', `faction ${template.factionRequirement} needed, character is ${character!.faction}`);
  }
  if (template.prerequisiteMissions.length > 0) {
    const met = await conn.rows<{ mission_id: number }>(
      `SELECT DISTINCT mission_id FROM mission_history
        WHERE character_id = ? AND completion_status = 'completed' AND mission_id IN (${template.prerequisiteMissions.map(() => '?').join(',')})`,
      [characterId, ...template.prerequisiteMissions],
    );
    const missing = template.prerequisiteMissions.filter((p) => !met.some((m) => Number(m.mission_id) === p));
    if (missing.length > 0) throw new RequirementError('prerequisite', `missions ${missing.join(', ')} must be completed first`);
  }
  if (template.requiredItems.length > 0) {
    const held = await conn.rows<{ template_id: number; quantity: number | string }>(
      `SELECT template_id, SUM(quantity) AS quantity FROM character_inventory
        WHERE character_id = ? AND template_id IN (${template.requiredItems.map(() => '?').join(',')}) GROUP BY template_id`,
      [characterId, ...template.requiredItems.map((i) => i.templateId)],
    );
    for (const need of template.requiredItems) {
      const have = Number(held.find((h) => Number(h.template_id) === need.templateId)?.quantity ?? 0);
      if (have < need.quantity)
        throw new RequirementError('item', `${need.quantity} of item template ${need.templateId} needed, has ${have}`);
    }
  }
}
