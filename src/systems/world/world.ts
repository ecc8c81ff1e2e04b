import { z } from 'zod';
import { FLOAT_MAX, floatColumn } from '../shared/fields.js';
import { FENCED_POSITIONS } from './fenced-positions.js';
import type { TravelOptions } from './hardline-travel.js';
import { acceptBuffered, fencedWriteOptions } from '../shared/fenced-write.js';
import { parseInput, positiveId, schemaFor } from '../../validate.js';
import type { Position } from '../../writebehind/write-behind-buffer.js';
import type { RepoContext } from '../shared/context.js';
import type { Consistency } from '../../routing/read-router.js';
import type { MoveResult } from '../shared/character-move.js';
import { consistencyOf } from '../../routing/consistency.js';
import { allHardlines, removeHardline, updateHardline } from './hardline-admin.js';
import { listBookmarks, setBookmark, type Bookmark, type BookmarkPlace } from './bookmarks.js';
import type { HardlineChange } from './world-inputs.js';
import {
  WorldContent,
  type DistrictActivity,
  type DistrictDefinition,
  type DistrictLoad,
  type HardlineDefinition,
  type WorldEventStart,
  type WorldObjectSpawn,
} from './world-content.js';
import {
  ClientWorld,
  type ClientHardline,
  type HardlineTrip,
  type KnownHardline,
  type StaticObject,
  type StaticObjectInput,
} from './world-client.js';

// FLOAT columns: finite and within FLOAT range, or the flush would refuse the row.
const finite = floatColumn;
const positionInput = schemaFor<Position>()(
  z
    .object({
      x: finite,
      y: finite,
      z: finite,
      rotation: z.object({ x: finite, y: finite, z: finite, w: finite }).strict().optional(),
    })
    .strict(),
);

/** Options of {@link World.updatePosition}. */
export interface PositionOptions {
  /** The presence claim's token: the write is refused (PresenceLostError) once the claim was taken over or released. */
  fencingToken?: number;
}
const positionOptions = schemaFor<PositionOptions>()(fencedWriteOptions);
const NO_OPTIONS: PositionOptions = {};

/**
 * High-frequency world state: positions go through the shard's write-behind buffer (coalesced,
 * last position per character wins, flushed in multi-row statements every
 * `writeBehind.flushIntervalMs` and on `flush()`), instead of one statement per update.
 */
export class World {
  private readonly content: WorldContent;
  private readonly client: ClientWorld;

  constructor(private readonly ctx: RepoContext) {
    this.content = new WorldContent(ctx);
    this.client = new ClientWorld(ctx);
  }

  /**
   * Records a character's position; resolves once buffered (back-pressure when the buffer is full).
   * With `fencingToken` (the server's presence claim) a stale token throws PresenceLostError now,
   * and the buffered write lands only if the token is still the character's when it is flushed.
   * Use one form per character: fenced and unfenced positions are buffered apart.
   *
   * @example
   * await db.world.updatePosition(characterId, { x: 10, y: 0, z: -4 }, { fencingToken: claim.fencingToken });
   */
  async updatePosition(characterId: number, position: Position, options?: PositionOptions): Promise<void> {
    // The hot path of a district server: hand-written checks (zod only to name a bad field), a
    // cached route and a Map write.
    const cid = positiveId(characterId, 'character id');
    const data = isPosition(position) ? position : parseInput(positionInput, position, 'position');
    const { fencingToken } = options === undefined ? NO_OPTIONS : parseInput(positionOptions, options, 'options');
    // Without a token: the cached route; with one: one primary-key read of the token (fenced-write.ts).
    const shard = await acceptBuffered(this.ctx.router, 'position_fence', cid, fencingToken);
    if (fencingToken === undefined) return this.ctx.writeBehind(shard).setPosition(cid, data);
    await this.ctx.writeBehind(shard).coalesce(FENCED_POSITIONS, String(cid), { ...data, fencingToken });
  }

  /**
   * Writes every buffered position and log row now (logout, district change, shutdown).
   *
   * @example
   * await db.world.flush(); // at logout, before the character's rows move
   */
  async flush(): Promise<void> {
    const buffers = () => this.ctx.router.topology.shards.map((s) => this.ctx.writeBehind(s.key));
    const carried = () => buffers().reduce((n, b) => n + b.carriedIn, 0);
    // A flush can re-route positions whose character moved to a shard already flushed: another
    // round writes them (a few at most: each round only follows moves that happened meanwhile).
    for (let round = 0; round < 5; round++) {
      const before = carried();
      await Promise.all(buffers().map((b) => b.flush()));
      if (carried() === before) return;
    }
  }

  /**
   * Defines (or redefines) a configured district: reference data, written on global and every shard at once.
   * @example
   * await db.world.defineDistrict({ districtId: 1, districtName: 'Richland', districtType: 'downtown', pvpEnabled: true });
   */
  defineDistrict(input: DistrictDefinition): Promise<{ districtId: number }> {
    return this.content.defineDistrict(input);
  }

  /**
   * Spawns a world object on its district's shard.
   * @example
   * const { objectId } = await db.world.spawnObject({ districtId: 1, objectType: 'terminal', objectName: 'Jack-in', position: { x: 1, y: 0, z: 2 } });
   */
  spawnObject(input: WorldObjectSpawn): Promise<{ objectId: number }> {
    return this.content.spawnObject(input);
  }

  /**
   * Changes a world object's state (stamps `last_interaction`).
   * @example
   * await db.world.setObjectState(objectId, 'destroyed');
   */
  setObjectState(objectId: number, state: 'active' | 'inactive' | 'destroyed' | 'hidden'): Promise<void> {
    return this.content.setObjectState(objectId, state);
  }

  /**
   * Defines a hardline in a district.
   * @example
   * const { hardlineId } = await db.world.defineHardline({ districtId: 1, hardlineName: 'Park', position: { x: 0, y: 0, z: 0 }, connectionCost: 10 });
   */
  defineHardline(input: HardlineDefinition): Promise<{ hardlineId: number }> {
    return this.content.defineHardline(input);
  }

  /**
   * Changes a hardline in place (any of its fields, its yaw and number too); returns it.
   * @example
   * await db.world.updateHardline(hardlineId, { position: { x: 10, y: 0, z: 5 }, yaw: 139 });
   */
  updateHardline(hardlineId: number, change: HardlineChange): Promise<ClientHardline> {
    return updateHardline(this.ctx, hardlineId, change);
  }

  /**
   * Removes a hardline (NotFoundError when there is none).
   * @example
   * await db.world.removeHardline(hardlineId);
   */
  removeHardline(hardlineId: number): Promise<void> {
    return removeHardline(this.ctx, hardlineId);
  }

  /**
   * Every hardline of the cluster in one call (one statement per shard, at once), by district then number.
   * @example
   * const all = await db.world.hardlines(); // [{ hardlineId, districtId, hardlineNumber, position, yaw, ... }]
   */
  hardlines(options: { consistency?: Consistency } = {}): Promise<ClientHardline[]> {
    return allHardlines(this.ctx, consistencyOf(options, 'session'));
  }

  /**
   * Stores a GM bookmark under a name (replacing one of that name); it moves with the character.
   * @example
   * await db.world.setBookmark(characterId, 'home', { districtId: 1, position: { x: 17020, y: 495, z: 2693 }, yaw: 139 });
   */
  setBookmark(characterId: number, name: string, place: BookmarkPlace): Promise<Bookmark> {
    return setBookmark(this.ctx, characterId, name, place);
  }

  /**
   * A character's GM bookmarks, by name.
   * @example
   * const marks = await db.world.bookmarks(characterId);
   */
  bookmarks(characterId: number, options: { consistency?: Consistency } = {}): Promise<Bookmark[]> {
    return listBookmarks(this.ctx, characterId, options);
  }

  /**
   * Uses a hardline: level/faction checks (and a private hardline's access code), fare and usage
   * count, and the move to the target district (across shards when it must), in one transaction.
   * @example
   * const { districtId, movedShards, cost } = await db.world.useHardline(characterId, fromHardlineId, toHardlineId);
   */
  useHardline(
    characterId: number,
    fromHardlineId: number,
    toHardlineId: number,
    options: TravelOptions = {},
  ): Promise<MoveResult & { cost: number }> {
    return this.content.useHardline(characterId, fromHardlineId, toHardlineId, options);
  }

  /**
   * A hardline by the client's (district, hardline number), or null.
   * @example
   * const hardline = await db.world.hardlineByNumber(2, 7);
   */
  hardlineByNumber(
    districtId: number,
    hardlineNumber: number,
    options: { consistency?: Consistency } = {},
  ): Promise<ClientHardline | null> {
    return this.client.hardlineByNumber(districtId, hardlineNumber, options);
  }

  /**
   * Adds a hardline of the character's current district to its known set (moves with the
   * character); `discovered` is false when it was known already. WrongDistrictError elsewhere.
   * @example
   * await db.world.discoverHardline(characterId, 2, 7);
   */
  discoverHardline(characterId: number, districtId: number, hardlineNumber: number): Promise<{ discovered: boolean }> {
    return this.client.discoverHardline(characterId, districtId, hardlineNumber);
  }

  /**
   * The hardlines a character has discovered, by (district, number).
   * @example
   * const known = await db.world.knownHardlines(characterId);
   */
  knownHardlines(characterId: number, options: { consistency?: Consistency } = {}): Promise<KnownHardline[]> {
    return this.client.knownHardlines(characterId, options);
  }

  /**
   * The client's hardline trip: both ends by (district, number), the destination must be known
   * (ForbiddenError otherwise), the source becomes known; then useHardline's checks, fare and move.
   * @example
   * await db.world.travel(characterId, { from: { districtId: 1, hardlineNumber: 3 }, to: { districtId: 4, hardlineNumber: 9 } });
   */
  travel(characterId: number, trip: HardlineTrip, options: TravelOptions = {}): Promise<MoveResult & { cost: number }> {
    return this.client.travel(characterId, trip, options);
  }

  /**
   * Creates or updates a world object keyed by (district, static object id); on an update only
   * the fields given change.
   * @example
   * const { objectId, created } = await db.world.upsertObject({ districtId: 2, staticObjectId: 0x3f001, objectType: 'door', state: 'inactive' });
   */
  upsertObject(input: StaticObjectInput): Promise<{ objectId: number; created: boolean }> {
    return this.client.upsertObject(input);
  }

  /**
   * A world object by (district, static object id), or null.
   * @example
   * const door = await db.world.objectByStaticId(2, 0x3f001);
   */
  objectByStaticId(districtId: number, staticObjectId: number, options: { consistency?: Consistency } = {}): Promise<StaticObject | null> {
    return this.client.objectByStaticId(districtId, staticObjectId, options);
  }

  /**
   * Starts a world event in a district (`active`, or `scheduled` when it starts later).
   * @example
   * const { eventId } = await db.world.startEvent({ districtId: 1, eventType: 'combat', eventName: 'Agent sweep' });
   */
  startEvent(input: WorldEventStart): Promise<{ eventId: number; status: 'active' | 'scheduled' }> {
    return this.content.startEvent(input);
  }

  /**
   * Adds a character in the event's district to an active event (once), counting it in its statistics.
   * @example
   * await db.world.joinEvent(eventId, characterId);
   */
  joinEvent(eventId: number, characterId: number): Promise<{ joined: boolean; participants: number[] }> {
    return this.content.joinEvent(eventId, characterId);
  }

  /**
   * Ends an event with its results.
   * @example
   * await db.world.endEvent(eventId, { winners: [characterId] });
   */
  endEvent(eventId: number, results?: Record<string, unknown> | unknown[]): Promise<void> {
    return this.content.endEvent(eventId, results);
  }

  /**
   * What a district server loads at boot, in one read: definition, objects, hardlines, vendors
   * with stock, active events.
   * @example
   * const { district, objects, hardlines, vendors, activeEvents } = await db.world.loadDistrict(1);
   */
  loadDistrict(districtId: number, options: { consistency?: Consistency } = {}): Promise<DistrictLoad> {
    return this.content.loadDistrict(districtId, options);
  }

  /**
   * The seed's `district_activity` view, gathered from every shard.
   * @example
   * const busy = (await db.world.districtActivity()).filter((d) => d.occupancyPercentage > 80);
   */
  districtActivity(options: { consistency?: Consistency } = {}): Promise<DistrictActivity[]> {
    return this.content.districtActivity(options);
  }
}

/** What positionInput accepts, checked by hand: finite FLOAT-range x, y, z and an optional rotation, no other keys. */
function isPosition(p: unknown): p is Position {
  if (typeof p !== 'object' || p === null) return false;
  const { x, y, z, rotation, ...rest } = p as Position & Record<string, unknown>;
  for (const _ in rest) return false;
  if (!isFloat(x) || !isFloat(y) || !isFloat(z)) return false;
  if (rotation === undefined) return true;
  if (typeof rotation !== 'object' || rotation === null) return false;
  const { x: rx, y: ry, z: rz, w, ...extra } = rotation as Record<string, unknown>;
  for (const _ in extra) return false;
  return isFloat(rx) && isFloat(ry) && isFloat(rz) && isFloat(w);
}

function isFloat(n: unknown): boolean {
  return typeof n === 'number' && Number.isFinite(n) && Math.abs(n) <= FLOAT_MAX;
}
