import { z } from 'zod';
import { InvalidStateError, NameTakenError, NotFoundError, WrongDistrictError } from '../../errors.js';
import { bigId, districtId as districtIdField, fromJson, id, jsonValue, varchar } from '../shared/fields.js';
import {
  districtInput,
  eventInput,
  hardlineInput,
  objectInput,
  type DistrictActivity,
  type DistrictDefinition,
  type DistrictLoad,
  type HardlineDefinition,
  type WorldEventStart,
  type WorldObjectSpawn,
} from './world-inputs.js';
import { isDuplicateKey } from '../../pool/mysql-errors.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import { consistencyOf } from '../../routing/consistency.js';
import type { Consistency } from '../../routing/read-router.js';
import type { MoveResult } from '../shared/character-move.js';
import { travelByHardline, travelOptions, type TravelOptions } from './hardline-travel.js';
import { readVendors } from '../shared/vendor-rows.js';
import { shardOfWorldRow } from '../shared/world-rows.js';
import { parseInput } from '../../validate.js';
import type { RepoContext } from '../shared/context.js';
import { fencing, type WriteOptions } from '../shared/write-options.js';

const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));

export type { DistrictActivity, DistrictDefinition, DistrictLoad, HardlineDefinition, WorldEventStart, WorldObjectSpawn };

/**
 * World content of districts (src/systems/world/world.ts delegates here): district definitions are
 * reference data (global and every shard); objects, hardlines and events live on the district's
 * shard with ids from the cluster-wide `world_id` sequence.
 */
export class WorldContent {
  constructor(private readonly ctx: RepoContext) {}

  async defineDistrict(input: DistrictDefinition): Promise<{ districtId: number }> {
    const d = parseInput(districtInput, input, 'district');
    this.ctx.router.topology.shardOfDistrict(d.districtId); // configured, or UnknownDistrictError
    const b = d.bounds;
    const values = [
      d.districtName,
      d.districtType,
      d.maxPlayers,
      d.pvpEnabled,
      d.difficultyLevel,
      b.minX,
      b.maxX,
      b.minY,
      b.maxY,
      b.minZ,
      b.maxZ,
      d.weatherType,
      d.lightingPreset,
      d.ambientSound ?? null,
      d.backgroundMusic ?? null,
      json(d.accessRequirements),
      d.instanceType,
      d.isActive,
    ];
    const columns = `district_name, district_type, max_players, pvp_enabled, difficulty_level, min_x, max_x, min_y, max_y, min_z, max_z,
      weather_type, lighting_preset, ambient_sound, background_music, access_requirements, instance_type, is_active`;
    const updates = columns
      .split(',')
      .map((c) => `${c.trim()} = VALUES(${c.trim()})`)
      .join(', ');
    try {
      await this.ctx.router.onEveryNode('district_define', async (tx, keys) => {
        for (const key of keys) {
          await (
            await tx.branch(key)
          ).exec(
            `INSERT INTO districts (district_id, ${columns}) VALUES (?, ${values.map(() => '?').join(', ')}) ON DUPLICATE KEY UPDATE ${updates}`,
            [d.districtId, ...values],
          );
        }
      });
    } catch (error) {
      if (isDuplicateKey(error, 'district_name')) throw new NameTakenError('districtName', d.districtName, { cause: error });
      throw error;
    }
    return { districtId: d.districtId };
  }

  async spawnObject(input: WorldObjectSpawn): Promise<{ objectId: number }> {
    const o = parseInput(objectInput, input, 'world object');
    const objectId = await this.ctx.ids.next('world_id');
    await this.ctx.router.onDistrict('object_spawn', o.districtId, (conn) =>
      conn.exec(
        `INSERT INTO world_objects (object_id, district_id, object_type, template_id, position_x, position_y, position_z, rotation_x, rotation_y,
           rotation_z, rotation_w, object_name, object_data, interaction_data, current_state, respawn_time, spawn_condition, despawn_condition)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          objectId,
          o.districtId,
          o.objectType,
          o.templateId ?? null,
          o.position.x,
          o.position.y,
          o.position.z,
          o.rotation.x,
          o.rotation.y,
          o.rotation.z,
          o.rotation.w,
          o.objectName ?? null,
          json(o.objectData),
          json(o.interactionData),
          o.currentState,
          o.respawnTime,
          json(o.spawnCondition),
          json(o.despawnCondition),
        ],
      ),
    );
    return { objectId };
  }

  async setObjectState(objectId: number, state: 'active' | 'inactive' | 'destroyed' | 'hidden'): Promise<void> {
    const oid = parseInput(bigId, objectId, 'object id');
    const s = parseInput(z.enum(['active', 'inactive', 'destroyed', 'hidden']), state, 'object state');
    const shard = await shardOfWorldRow(this.ctx.router, 'world_objects', oid);
    await this.ctx.router.onShard('object_state', shard, async (conn) => {
      const header = await conn.exec('UPDATE world_objects SET current_state = ?, last_interaction = NOW() WHERE object_id = ?', [s, oid]);
      if (header.affectedRows !== 1) throw new NotFoundError('world object', oid);
    });
  }

  async defineHardline(input: HardlineDefinition): Promise<{ hardlineId: number }> {
    const h = parseInput(hardlineInput, input, 'hardline');
    const hardlineId = await this.ctx.ids.next('world_id');
    try {
      await this.ctx.router.onDistrict('hardline_define', h.districtId, (conn) =>
        conn.exec(
          `INSERT INTO hardlines (hardline_id, district_id, hardline_name, position_x, position_y, position_z, hardline_type, access_code,
             faction_requirement, level_requirement, connected_hardlines, connection_cost, is_active, hardline_number, yaw)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            hardlineId,
            h.districtId,
            h.hardlineName,
            h.position.x,
            h.position.y,
            h.position.z,
            h.hardlineType,
            h.accessCode ?? null,
            h.factionRequirement ?? null,
            h.levelRequirement,
            json(h.connectedHardlines),
            h.connectionCost,
            h.isActive,
            h.hardlineNumber ?? null,
            h.yaw,
          ],
        ),
      );
    } catch (error) {
      if (isDuplicateKey(error, 'uq_hardlines_district_number'))
        throw new NameTakenError('hardlineNumber', `${h.districtId}/${h.hardlineNumber}`, { cause: error });
      throw error;
    }
    return { hardlineId };
  }

  /**
   * Travels from a hardline in the character's district to a connected one: level and faction
   * checks (both ends), the fare charged with a ledger row, the usage counted, and the character
   * moved to the target district, across shards when it must, all in one transaction.
   */
  async useHardline(
    characterId: number,
    fromHardlineId: number,
    toHardlineId: number,
    options: TravelOptions = {},
  ): Promise<MoveResult & { cost: number }> {
    const cid = parseInput(id, characterId, 'character id');
    const rules = parseInput(travelOptions, options, 'options');
    const fromId = parseInput(id, fromHardlineId, 'from hardline id');
    const toId = parseInput(id, toHardlineId, 'to hardline id');
    return travelByHardline(this.ctx.router, this.ctx.writeBehind, cid, fromId, toId, rules);
  }

  async startEvent(input: WorldEventStart): Promise<{ eventId: number; status: 'active' | 'scheduled' }> {
    const e = parseInput(eventInput, input, 'world event');
    const eventId = await this.ctx.ids.next('world_id');
    const start = e.startTime ?? new Date();
    const status = start.getTime() <= Date.now() ? 'active' : 'scheduled';
    await this.ctx.router.onDistrict('event_start', e.districtId, (conn) =>
      conn.exec(
        `INSERT INTO world_events (event_id, district_id, event_type, event_name, event_description, event_data, start_time, end_time, duration,
           trigger_condition, completion_condition, event_status, participants, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', ?)`,
        [
          eventId,
          e.districtId,
          e.eventType,
          e.eventName ?? null,
          e.eventDescription ?? null,
          JSON.stringify(e.eventData),
          start,
          e.endTime ?? null,
          e.duration ?? null,
          json(e.triggerCondition),
          json(e.completionCondition),
          status,
          e.createdBy ?? null,
        ],
      ),
    );
    return { eventId, status };
  }

  async joinEvent(eventId: number, characterId: number, options: WriteOptions = {}): Promise<{ joined: boolean; participants: number[] }> {
    const eid = parseInput(bigId, eventId, 'event id');
    const cid = parseInput(id, characterId, 'character id');
    const shard = await shardOfWorldRow(this.ctx.router, 'world_events', eid);
    const { value } = await this.ctx.router.onCharacters(
      'event_join',
      [cid],
      async (tx, [route], rows) => {
        const conn = await tx.branch(route!.shard);
        const locked = await rows.of(cid);
        const events = await tx.branch(shard);
        const [ev] = await events.rows<{ event_status: string; participants: unknown; district_id: number }>(
          'SELECT event_status, participants, district_id FROM world_events WHERE event_id = ? FOR UPDATE',
          [eid],
        );
        if (ev!.event_status !== 'active') throw new InvalidStateError('world event', eid, ev!.event_status);
        if (Number(ev!.district_id) !== Number(locked.district_id))
          throw new WrongDistrictError(cid, Number(ev!.district_id), Number(locked.district_id));
        const participants = fromJson<number[]>(ev!.participants, []).map(Number);
        if (participants.includes(cid)) return { joined: false, participants };
        participants.push(cid);
        await events.exec('UPDATE world_events SET participants = ? WHERE event_id = ?', [JSON.stringify(participants), eid]);
        await conn.exec('UPDATE character_statistics SET events_participated = events_participated + 1 WHERE character_id = ?', [cid]);
        return { joined: true, participants };
      },
      { ...fencing(options), also: [shard] },
    );
    return value;
  }

  async endEvent(eventId: number, results: Record<string, unknown> | unknown[] = {}): Promise<void> {
    const eid = parseInput(bigId, eventId, 'event id');
    const r = parseInput(jsonValue, results, 'event results');
    const shard = await shardOfWorldRow(this.ctx.router, 'world_events', eid);
    await this.ctx.router.onShard('event_end', shard, async (conn) => {
      const [ev] = await conn.rows<{ event_status: string }>('SELECT event_status FROM world_events WHERE event_id = ? FOR UPDATE', [eid]);
      if (ev!.event_status !== 'active' && ev!.event_status !== 'scheduled')
        throw new InvalidStateError('world event', eid, ev!.event_status);
      await conn.exec("UPDATE world_events SET event_status = 'completed', end_time = NOW(), event_results = ? WHERE event_id = ?", [
        JSON.stringify(r),
        eid,
      ]);
    });
  }

  async loadDistrict(districtId: number, options: { consistency?: Consistency } = {}): Promise<DistrictLoad> {
    const did = parseInput(districtIdField, districtId, 'district id');
    const shard = this.ctx.router.topology.shardOfDistrict(did);
    return this.ctx.router.readShard('district_load', shard, consistencyOf(options, 'session'), async (conn: PooledConnection) => {
      const [district] = await conn.rows('SELECT * FROM districts WHERE district_id = ?', [did]);
      if (!district) throw new NotFoundError('district', did);
      const [objects, hardlines, vendors, activeEvents] = [
        await conn.rows('SELECT * FROM world_objects WHERE district_id = ? ORDER BY object_id', [did]),
        await conn.rows('SELECT * FROM hardlines WHERE district_id = ? ORDER BY hardline_id', [did]),
        await readVendors(conn, 'v.district_id = ? AND v.is_active', [did]),
        await conn.rows("SELECT * FROM world_events WHERE district_id = ? AND event_status = 'active' ORDER BY event_id", [did]),
      ];
      return { district, objects, hardlines, vendors, activeEvents };
    });
  }

  async districtActivity(options: { consistency?: Consistency } = {}): Promise<DistrictActivity[]> {
    const router = this.ctx.router;
    const perShard = await router.readEveryShard('district_activity', consistencyOf(options, 'eventual'), async (conn, shard) => {
      const mine = router.topology.shards.find((s) => s.key === shard)!.districts;
      const rows = await conn.rows<Record<string, unknown>>(
        `SELECT * FROM district_activity WHERE district_id IN (${mine.map(() => '?').join(', ')}) ORDER BY district_id`,
        mine,
      );
      return rows.map((r) => ({
        districtId: Number(r.district_id),
        districtName: String(r.district_name),
        currentPlayers: Number(r.current_players),
        maxPlayers: Number(r.max_players),
        occupancyPercentage: Number(r.occupancy_percentage),
        activeEvents: Number(r.active_events),
        shard,
      }));
    });
    return perShard.flat();
  }
}
