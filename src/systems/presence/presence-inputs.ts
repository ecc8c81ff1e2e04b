import { z } from 'zod';
import { schemaFor } from '../../validate.js';
import { districtId as district, fencingToken, id } from '../shared/fields.js';
import type { ClaimResult } from './presence-claims.js';

/** The inputs and results of db.presence (src/systems/presence/presence.ts) and their schemas. */

/** A district server taking a character into its world. */
export interface PresenceClaimInput {
  /** The district server's name (1-64 characters). */
  serverId: string;
  /** A configured district (0 is the tutorial). */
  districtId: number;
  /** Seconds until the claim expires without a heartbeat (1-3600, default 30). */
  ttlSec?: number;
}

/** A held claim: writes under it carry `fencingToken`; it lapses at `expiresAt` (the database's clock). */
export type PresenceClaim = ClaimResult;

/** Where a character is in the world right now. */
export interface PresenceLocation {
  characterId: number;
  serverId: string;
  districtId: number;
  expiresAt: Date;
}

/** A one-time ticket for world entry (character select -> district server). */
export interface HandoffInput {
  accountId: number;
  characterId: number;
  /** The district server that will consume it. */
  serverId: string;
  districtId: number;
  /** Seconds the ticket stays valid (1-600, default 60). */
  ttlSec?: number;
  /** For a move between servers: the current holder's token; consuming the ticket then takes that claim over. */
  fencingToken?: number;
}

/** What a district server learns from a consumed ticket, with its new claim. */
export interface HandoffResult {
  accountId: number;
  characterId: number;
  districtId: number;
  claim: PresenceClaim;
}

/** A world-entry ticket not yet consumed, as {@link Presence.pendingHandoff} finds it. */
export interface PendingHandoff {
  accountId: number;
  characterId: number;
  districtId: number;
  expiresAt: Date;
}

/** The server id `characters.setOnline` claims under when the caller names none. */
export const LEGACY_ONLINE_SERVER = 'set-online';

/** @internal */
export const setOnlineOptions = z
  .object({
    serverId: z.string().min(1).max(64).optional(),
    fencingToken,
    ttlSec: z.number().int().min(1).max(3600).default(3600),
  })
  .strict();
/** @internal */
export const serverId = z.string().min(1).max(64);
/** @internal */
export const claimInput = schemaFor<PresenceClaimInput>()(
  z.object({ serverId, districtId: district, ttlSec: z.number().int().min(1).max(3600).default(30) }).strict(),
);
/** @internal */
export const handOverInput = z.object({ serverId, districtId: district, ttlSec: z.number().int().min(1).max(600).optional() }).strict();
/** @internal */
export const handoffInput = schemaFor<HandoffInput>()(
  z
    .object({
      accountId: id,
      characterId: id,
      serverId,
      districtId: district,
      ttlSec: z.number().int().min(1).max(600).default(60),
      fencingToken,
    })
    .strict(),
);
/** @internal */
export const ttlOption = z.object({ ttlSec: z.number().int().min(1).max(3600).optional() }).strict();
/** @internal */
export const ticketInput = z.string().min(1).max(128);
