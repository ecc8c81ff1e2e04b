import { PresenceLostError, ValidationError } from '../errors.js';

/**
 * The one fencing rule (docs/design.md, "Presence and fencing"), used by the router's character
 * lock and by the writes that bypass it (src/systems/shared/fenced-write.ts): a write carrying a
 * presence claim's token lands only while the character's row still holds that token; with
 * `presence.requireFencing` a character write without a token is refused before any SQL.
 */

/** The refusal of a write without a token where the cluster requires one (names `fencingToken`). */
export function fencingRequired(what: string): ValidationError {
  return new ValidationError(what, [{ field: 'fencingToken', message: 'required: the cluster config sets presence.requireFencing' }]);
}

/** Throws PresenceLostError unless `current` (the locked row's presence_token) is `token`. */
export function checkToken(characterId: number, token: number, current: number | string | null | undefined): void {
  if (current === null || current === undefined || Number(current) !== token) throw new PresenceLostError(characterId, token);
}
