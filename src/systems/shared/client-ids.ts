import { z } from 'zod';

/** @internal
 * The client's 32-bit object ids (item templates, abilities, vendors, world objects). They are
 * unsigned, but emulators often carry them as signed 32-bit integers (ability ids have the high
 * bit set, so they come out negative): both forms are accepted and stored unsigned, in an
 * INT UNSIGNED column (0 .. 2^32-1).
 */
export const clientObjectId = z
  .number()
  .int()
  .min(-2_147_483_648, 'a 32-bit client object id (signed or unsigned)')
  .max(4_294_967_295, 'a 32-bit client object id (signed or unsigned)')
  .transform((n) => n >>> 0);

/** `n` as the unsigned 32-bit id that is stored. */
export function unsignedClientId(n: number): number {
  return n >>> 0;
}
