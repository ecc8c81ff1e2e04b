import { z } from 'zod';

/**
 * The client's field widths as input limits (contract part four). Each value a call accepts must
 * fit the client field that carries it, so a district server never truncates, garbles or
 * mis-packs what it read back. Widths come from the emulators' packet builders: Hardline Dreams
 * (hdneo/mxo-hd) CharacterPack.cs, MarginClient.cs, WorldsPack.cs, PacketsUtils.getRSIBytes;
 * Reality (rajkosto/mxoemu) RsiData.h, PlayerObject.cpp. Every message names the client's limit.
 */

/**
 * The client's strings are single-byte (mxo-hd writes `(byte)ch` per character): characters
 * U+0000..U+00FF (ISO-8859-1) are one byte each; anything else cannot be sent.
 */
const SINGLE_BYTE = /^[\u0020-\u007E\u00A0-\u00FF]*$/;
/** The same, with line breaks and tabs (a background is multi-line text). */
const SINGLE_BYTE_TEXT = /^[\t\n\r\u0020-\u007E\u00A0-\u00FF]*$/;
/** Latin-1 letters (no × or ÷) and digits. */
const HANDLE_CHAR = 'A-Za-z0-9\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u00FF';

/** A handle's bytes: the client's CharacterName field is 32 bytes, the last one its terminator. */
export const HANDLE_MAX_BYTES = 31;
/** First and last names: 32-byte fields with a terminator (MarginClient.cs). */
export const NAME_MAX_BYTES = 31;
/** Background: a 1,024-byte field with a terminator (MarginClient.cs). */
export const BACKGROUND_MAX_BYTES = 1_023;
/** World names: 20 bytes with a terminator (WorldsPack.cs, Reality's char[20]). */
export const WORLD_NAME_MAX_BYTES = 19;

/** @internal
 * A handle (character name) as the client carries it: 1-31 characters of its single-byte set,
 * letters or digits first, then letters, digits, `_`, `'` or `-`; no spaces (both emulators split
 * chat commands on spaces). Unique case-insensitively (the directory's collation).
 */
export const handle = z
  .string()
  .min(1, 'must not be empty')
  .max(HANDLE_MAX_BYTES, `must be at most ${HANDLE_MAX_BYTES} bytes (the client's 32-byte name field)`)
  .regex(/^\S*$/, 'must not contain spaces (the client splits commands on them)')
  .regex(
    new RegExp(`^[${HANDLE_CHAR}][${HANDLE_CHAR}_'-]*$`),
    "letters or digits of the client's single-byte set (ISO-8859-1), then also _ ' -",
  );

/** @internal A first or last name: at most 31 single-byte characters. */
export const clientName = z
  .string()
  .regex(SINGLE_BYTE, "characters of the client's single-byte set (ISO-8859-1) only")
  .max(NAME_MAX_BYTES, `must be at most ${NAME_MAX_BYTES} bytes (the client's 32-byte field)`);

/** @internal A background: at most 1,023 single-byte characters. */
export const background = z
  .string()
  .regex(SINGLE_BYTE_TEXT, "characters of the client's single-byte set (ISO-8859-1) only")
  .max(BACKGROUND_MAX_BYTES, `must be at most ${BACKGROUND_MAX_BYTES} bytes (the client's 1,024-byte field)`);

/** @internal An unsigned 16-bit attribute (health, inner strength and their maxima). */
export const u16 = z
  .number()
  .int()
  .min(0, 'must be at least 0 (a 16-bit client field)')
  .max(65_535, 'must be at most 65,535 (a 16-bit client field)');
/** @internal A signed 16-bit attribute (reputations; the client shows -32,768 .. 32,767). */
export const i16 = z
  .number()
  .int()
  .min(-32_768, 'must be at least -32,768 (a 16-bit client field)')
  .max(32_767, 'must be at most 32,767 (a 16-bit client field)');
/** @internal A byte (alignment, the client's OrganizationID). */
export const u8 = z
  .number()
  .int()
  .min(0, 'must be at least 0 (a one-byte client field)')
  .max(255, 'must be at most 255 (a one-byte client field)');
/** @internal A level: the client's byte, within characters.level (TINYINT). */
export const level = z.number().int().min(1, 'must be at least 1').max(127, 'must be at most 127 (characters.level, a TINYINT)');
/** @internal Experience: the client carries a u64; characters.experience is a signed INT. */
export const experience = z
  .number()
  .int()
  .min(0, 'must be at least 0')
  .max(2_147_483_647, 'must be at most 2,147,483,647 (characters.experience)');
/** @internal Information (money): the margin packet's u32, and a ledger difference that fits transaction_history's INT. */
export const money = z
  .number()
  .int()
  .min(0, 'must be at least 0')
  .max(2_147_483_647, "must be at most 2,147,483,647 (the client's money field, the ledger's INT)");
/** @internal A world id: the client's 16-bit field. */
export const worldId = z.number().int().min(1, 'must be at least 1').max(65_535, "must be at most 65,535 (the client's 16-bit world id)");
/** @internal A world name: at most 19 single-byte characters. */
export const worldName = z
  .string()
  .min(1, 'must not be empty')
  .regex(SINGLE_BYTE, "characters of the client's single-byte set (ISO-8859-1) only")
  .max(WORLD_NAME_MAX_BYTES, `must be at most ${WORLD_NAME_MAX_BYTES} bytes (the client's 20-byte world name)`);
/** @internal
 * A coordinate: the client's double. Finite, and within ±1e9 (the client's world is tens of
 * thousands of units across; the bound only keeps nonsense out).
 */
export const coordinate = z.number().finite().min(-1e9, 'must be at least -1e9').max(1e9, 'must be at most 1e9');
/** @internal A position as the server sends it: three doubles, kept exactly (DOUBLE columns). */
export const clientPosition = z.object({ x: coordinate, y: coordinate, z: coordinate }).strict();
/** @internal A facing as the server sends it (a yaw byte, or radians); returned exactly as given. */
export const yaw = z.number().finite().min(-65_536, 'must be at least -65,536').max(65_536, 'must be at most 65,536');

/**
 * The RSI (appearance) bit widths by sex, in our field names: mxo-hd's PacketsUtils.getRSIBytes
 * (and Reality's RsiData.h). Fields the client does not carry for a sex have width 0 (only 0
 * fits: leggings on a male). hatColor, glovesColor and leggingsColor are no client field at all
 * (the library draws them from equipped clothing): they are kept for the server and never packed,
 * so they are bounded only by their storage (0..65535).
 */
export const RSI_BITS: Record<string, readonly [male: number, female: number]> = {
  sex: [1, 1],
  body: [2, 2],
  hatModel: [6, 6],
  face: [5, 5],
  shirtModel: [5, 5],
  coatModel: [6, 5],
  pantsModel: [5, 5],
  shoesModel: [6, 5],
  glovesModel: [5, 6],
  glassesModel: [5, 5],
  hair: [5, 5],
  leggingsModel: [0, 4],
  facialDetail: [4, 4],
  shirtColor: [6, 6],
  pantsColor: [5, 5],
  coatColor: [5, 5],
  shoesColor: [4, 4],
  glassesColor: [4, 4],
  hairColor: [5, 5],
  skinTone: [5, 5],
  tattoo: [3, 3],
  facialDetailColor: [3, 3],
};

/** Largest value of an RSI field for `sex` (0 male, 1 female, undefined either); undefined when not a client field. */
export function rsiMax(field: string, sex: number | undefined): number | undefined {
  const bits = RSI_BITS[field];
  if (!bits) return undefined;
  const width = sex === 0 ? bits[0] : sex === 1 ? bits[1] : Math.max(bits[0], bits[1]);
  return 2 ** width - 1;
}

/**
 * The fields of `appearance` wider than the client's RSI bits for `sex` (undefined: the wider of
 * the two sexes, for a change whose sex is not known yet), as field issues naming the limit.
 */
export function rsiIssues(appearance: Record<string, unknown>, sex: number | undefined): Array<{ field: string; message: string }> {
  const issues: Array<{ field: string; message: string }> = [];
  for (const [field, value] of Object.entries(appearance)) {
    const max = rsiMax(field, sex);
    if (max === undefined || typeof value !== 'number' || value <= max) continue;
    const who = sex === 0 ? ' for a male' : sex === 1 ? ' for a female' : '';
    const bits = Math.log2(max + 1);
    issues.push({
      field,
      message:
        max === 0 ? `must be 0${who} (the client has no such field)` : `must be at most ${max}${who} (${bits} bits in the client's RSI)`,
    });
  }
  return issues;
}
