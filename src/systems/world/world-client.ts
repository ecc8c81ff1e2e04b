import { z } from 'zod';
import { NotFoundError, WrongDistrictError } from '../../errors.js';
import { districtId as districtIdField, float, fromJson, id, jsonValue, varchar } from '../shared/fields.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import { consistencyOf } from '../../routing/consistency.js';
import type { Consistency } from '../../routing/read-router.js';
import type { MoveResult } from '../shared/character-move.js';
import { clientObjectId } from '../shared/client-ids.js';
import { travelByHardline, travelOptions, type HardlinePlace, type HardlineRow, type TravelOptions } from './hardline-travel.js';
import { parseInput, schemaFor } from '../../validate.js';
import type { RepoContext } from '../shared/context.js';
import { fencing, type WriteOptions } from '../shared/write-options.js';

export type { HardlinePlace };

/** A hardline as a district server shows it (the access code stays in the database). */
export interface ClientHardline {
  hardlineId: number;
  districtId: number;
  /** The client's number in the district (null for a hardline defined without one). */
  hardlineNumber: number | null;
  hardlineName: string;
  position: { x: number; y: number; z: number };
  /** The facing, as defined (a yaw byte or radians). */
  yaw: number;
  hardlineType: string;
  factionRequirement: string | null;
  levelRequirement: number;
  connectionCost: number;
  isActive: boolean;
}

/** A hardline a character has discovered. */
export interface KnownHardline extends HardlinePlace {
  discoveredAt: Date;
}

/** A trip between two hardlines named the client's way. */
export interface HardlineTrip {
  from: HardlinePlace;
  to: HardlinePlace;
}

export type WorldObjectType = 'npc' | 'terminal' | 'hardline' | 'item_spawn' | 'decoration' | 'interactive' | 'door';
export type WorldObjectState = 'active' | 'inactive' | 'destroyed' | 'hidden';

/** A world object of the district's world file, keyed by (district, static object id). */
export interface StaticObjectInput {
  districtId: number;
  /** The world file's static object id (unsigned 32-bit; the signed form is accepted). */
  staticObjectId: number;
  objectType: WorldObjectType;
  /** Default 'active' when created; unchanged when absent on an update. */
  state?: WorldObjectState;
  objectName?: string;
  templateId?: number;
  position?: { x: number; y: number; z: number };
  rotation?: { x: number; y: number; z: number; w: number };
  objectData?: Record<string, unknown> | unknown[];
  interactionData?: Record<string, unknown> | unknown[];
}

export interface StaticObject {
  objectId: number;
  districtId: number;
  staticObjectId: number;
  objectType: WorldObjectType;
  state: WorldObjectState;
  objectName: string | null;
  templateId: number | null;
  position: { x: number; y: number; z: number };
  rotation: { x: number; y: number; z: number; w: number };
  objectData: unknown;
  interactionData: unknown;
}

const place = schemaFor<HardlinePlace>()(z.object({ districtId: districtIdField, hardlineNumber: clientObjectId }).strict());
const tripInput = schemaFor<HardlineTrip>()(z.object({ from: place, to: place }).strict());
const objectTypes = z.enum(['npc', 'terminal', 'hardline', 'item_spawn', 'decoration', 'interactive', 'door']);
const objectStates = z.enum(['active', 'inactive', 'destroyed', 'hidden']);
const staticObjectInput = schemaFor<StaticObjectInput>()(
  z
    .object({
      districtId: districtIdField,
      staticObjectId: clientObjectId,
      objectType: objectTypes,
      state: objectStates.optional(),
      objectName: varchar(64).optional(),
      templateId: id.optional(),
      position: z.object({ x: float, y: float, z: float }).strict().optional(),
      rotation: z.object({ x: float, y: float, z: float, w: float }).strict().optional(),
      objectData: jsonValue.optional(),
      interactionData: jsonValue.optional(),
    })
    .strict(),
);

/**
 * The world keyed the way the client keys it (src/systems/world/world.ts delegates here): hardlines by
 * (district, hardline number), a known set of hardlines per character (it moves with the
 * character), trips between numbered hardlines over world.useHardline's path, and world objects
 * by (district, static object id).
 */
export class ClientWorld {
  constructor(private readonly ctx: RepoContext) {}

  async hardlineByNumber(
    districtId: number,
    hardlineNumber: number,
    options: { consistency?: Consistency } = {},
  ): Promise<ClientHardline | null> {
    const p = parseInput(place, { districtId, hardlineNumber }, 'hardline');
    const row = await this.findHardline(p, consistencyOf(options, 'session'));
    return row ? hardlineOf(row) : null;
  }

  async discoverHardline(
    characterId: number,
    districtId: number,
    hardlineNumber: number,
    options: WriteOptions = {},
  ): Promise<{ discovered: boolean }> {
    const cid = parseInput(id, characterId, 'character id');
    const p = parseInput(place, { districtId, hardlineNumber }, 'hardline');
    if (!(await this.findHardline(p, 'strong'))) throw new NotFoundError('hardline', `${p.districtId}/${p.hardlineNumber}`);
    return this.ctx.router.onCharacter(
      'hardline_discover',
      cid,
      async (conn, route, _tx, locked) => {
        // Discovered by standing at it: the character is in the hardline's district.
        if (Number(locked.district_id) !== p.districtId) throw new WrongDistrictError(cid, p.districtId, Number(locked.district_id));
        const header = await conn.exec(
          'INSERT IGNORE INTO character_known_hardlines (character_id, district_id, hardline_number) VALUES (?, ?, ?)',
          [cid, p.districtId, p.hardlineNumber],
        );
        return { discovered: header.affectedRows === 1 };
      },
      fencing(options),
    );
  }

  async knownHardlines(characterId: number, options: { consistency?: Consistency } = {}): Promise<KnownHardline[]> {
    const cid = parseInput(id, characterId, 'character id');
    const rows = await this.ctx.router.readCharacter('hardlines_known', cid, consistencyOf(options, 'session'), async (conn) => {
      const joined = await conn.rows<{ district_id: number | null; hardline_number: number | null; discovered_at: Date | null }>(
        `SELECT k.district_id, k.hardline_number, k.discovered_at FROM characters c
           LEFT JOIN character_known_hardlines k ON k.character_id = c.character_id
          WHERE c.character_id = ? ORDER BY k.district_id, k.hardline_number`,
        [cid],
      );
      return joined.length === 0 ? undefined : joined.filter((r) => r.district_id !== null);
    });
    return rows.map((r) => ({
      districtId: Number(r.district_id),
      hardlineNumber: Number(r.hardline_number),
      discoveredAt: r.discovered_at!,
    }));
  }

  async travel(characterId: number, trip: HardlineTrip, options: TravelOptions = {}): Promise<MoveResult & { cost: number }> {
    const cid = parseInput(id, characterId, 'character id');
    const t = parseInput(tripInput, trip, 'trip');
    const { accessCode, fencingToken } = parseInput(travelOptions, options, 'options');
    const [from, to] = await Promise.all([this.findHardline(t.from, 'strong'), this.findHardline(t.to, 'strong')]);
    if (!from) throw new NotFoundError('hardline', `${t.from.districtId}/${t.from.hardlineNumber}`);
    if (!to) throw new NotFoundError('hardline', `${t.to.districtId}/${t.to.hardlineNumber}`);
    return travelByHardline(this.ctx.router, this.ctx.writeBehind, cid, Number(from.hardline_id), Number(to.hardline_id), {
      accessCode,
      fencingToken,
      known: t,
    });
  }

  async upsertObject(input: StaticObjectInput): Promise<{ objectId: number; created: boolean }> {
    const o = parseInput(staticObjectInput, input, 'world object');
    const newId = await this.ctx.ids.next('world_id');
    const pos = o.position ?? { x: 0, y: 0, z: 0 };
    const rot = o.rotation ?? { x: 0, y: 0, z: 0, w: 1 };
    const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
    // Only the fields given change on an update (column names are ours, never input).
    const given: Array<[string, boolean]> = [
      ['object_type', true],
      ['current_state', o.state !== undefined],
      ['object_name', o.objectName !== undefined],
      ['template_id', o.templateId !== undefined],
      ['position_x', o.position !== undefined],
      ['position_y', o.position !== undefined],
      ['position_z', o.position !== undefined],
      ['rotation_x', o.rotation !== undefined],
      ['rotation_y', o.rotation !== undefined],
      ['rotation_z', o.rotation !== undefined],
      ['rotation_w', o.rotation !== undefined],
      ['object_data', o.objectData !== undefined],
      ['interaction_data', o.interactionData !== undefined],
    ];
    const updates = given.filter(([, g]) => g).map(([c]) => `${c} = VALUES(${c})`);
    return this.ctx.router.onDistrict('object_upsert', o.districtId, async (conn) => {
      const header = await conn.exec(
        `INSERT INTO world_objects (object_id, district_id, static_object_id, object_type, current_state, object_name, template_id,
           position_x, position_y, position_z, rotation_x, rotation_y, rotation_z, rotation_w, object_data, interaction_data)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE ${updates.join(', ')}, last_interaction = NOW()`,
        [
          newId,
          o.districtId,
          o.staticObjectId,
          o.objectType,
          o.state ?? 'active',
          o.objectName ?? null,
          o.templateId ?? null,
          pos.x,
          pos.y,
          pos.z,
          rot.x,
          rot.y,
          rot.z,
          rot.w,
          json(o.objectData),
          json(o.interactionData),
        ],
      );
      const [row] = await conn.rows<{ object_id: number }>(
        'SELECT object_id FROM world_objects WHERE district_id = ? AND static_object_id = ?',
        [o.districtId, o.staticObjectId],
      );
      return { objectId: Number(row!.object_id), created: header.affectedRows === 1 && Number(row!.object_id) === newId };
    });
  }

  async objectByStaticId(
    districtId: number,
    staticObjectId: number,
    options: { consistency?: Consistency } = {},
  ): Promise<StaticObject | null> {
    const did = parseInput(districtIdField, districtId, 'district id');
    const sid = parseInput(clientObjectId, staticObjectId, 'static object id');
    const shard = this.ctx.router.topology.shardOfDistrict(did);
    const [row] = await this.ctx.router.readShard('object_by_static_id', shard, consistencyOf(options, 'session'), (conn) =>
      conn.rows<Record<string, unknown>>('SELECT * FROM world_objects WHERE district_id = ? AND static_object_id = ?', [did, sid]),
    );
    return row ? objectOf(row) : null;
  }

  private async findHardline(p: HardlinePlace, consistency: Consistency): Promise<(HardlineRow & Record<string, unknown>) | undefined> {
    const shard = this.ctx.router.topology.shardOfDistrict(p.districtId);
    const [row] = await this.ctx.router.readShard('hardline_by_number', shard, consistency, (conn: PooledConnection) =>
      conn.rows<HardlineRow & Record<string, unknown>>('SELECT * FROM hardlines WHERE district_id = ? AND hardline_number = ?', [
        p.districtId,
        p.hardlineNumber,
      ]),
    );
    return row;
  }
}

export function hardlineOf(r: HardlineRow & Record<string, unknown>): ClientHardline {
  return {
    hardlineId: Number(r.hardline_id),
    districtId: Number(r.district_id),
    hardlineNumber: r.hardline_number === null ? null : Number(r.hardline_number),
    hardlineName: String(r.hardline_name),
    position: { x: Number(r.position_x), y: Number(r.position_y), z: Number(r.position_z) },
    yaw: Number(r.yaw ?? 0),
    hardlineType: r.hardline_type,
    factionRequirement: r.faction_requirement,
    levelRequirement: Number(r.level_requirement ?? 1),
    connectionCost: Number(r.connection_cost ?? 0),
    isActive: Boolean(r.is_active),
  };
}

function objectOf(r: Record<string, unknown>): StaticObject {
  return {
    objectId: Number(r.object_id),
    districtId: Number(r.district_id),
    staticObjectId: Number(r.static_object_id),
    objectType: r.object_type as WorldObjectType,
    state: r.current_state as WorldObjectState,
    objectName: (r.object_name as string | null) ?? null,
    templateId: r.template_id === null ? null : Number(r.template_id),
    position: { x: Number(r.position_x), y: Number(r.position_y), z: Number(r.position_z) },
    rotation: { x: Number(r.rotation_x), y: Number(r.rotation_y), z: Number(r.rotation_z), w: Number(r.rotation_w) },
    objectData: fromJson(r.object_data, null),
    interactionData: fromJson(r.interaction_data, null),
  };
}
