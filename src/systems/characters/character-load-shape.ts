import type { CharacterAbility } from '../shared/ability-loadout.js';
import type { InventoryItem } from '../shared/inventory-inputs.js';
import type { Row } from '../../pool/pooled-connection.js';
import type { LoadoutSlot } from '../shared/ability-loadout.js';
import type { LoadedRow } from './character-load.js';
import { REPUTATION_ORGANIZATIONS, type Reputations } from '../shared/reputations.js';

/** The shapes `characters.load` returns: each part as the single read it replaces returns it. */

/** A learned ability, as db.abilities.list returns it. */
export type LoadedAbility = CharacterAbility;

export interface LoadedStanding {
  faction: 'zion' | 'machine' | 'merovingian';
  standingPoints: number;
  reputationLevel: string;
  lastUpdated: Date | null;
}

/** An item as `inventory.list` returns it. */
export type LoadedItem = InventoryItem;

export interface LoadedMission {
  characterId: number;
  missionId: number;
  missionName: string;
  missionType: string;
  status: string;
  acceptedAt: Date | null;
  completedAt: Date | null;
  objectives: Array<{
    objectiveIndex: number;
    description: string;
    currentProgress: number;
    requiredProgress: number;
    isCompleted: boolean;
  }>;
  readyToComplete: boolean;
}

export interface LoadedRelationship {
  characterId: number;
  targetCharacterId: number;
  type: string;
  notes: string | null;
  isMutual: boolean;
}

export interface LoadedCrew {
  crewId: number;
  crewName: string;
  captainId: number | null;
  memberCount: number;
  position: string;
}

export interface LoadedOrganization {
  organizationId: number;
  organizationName: string;
  faction: string;
  leaderId: number | null;
  rankName: string;
  rankLevel: number;
  permissions: number;
}

/** What `characters.load` returns: the character and everything the world server needs with it. */
export interface CharacterLoad<C> {
  character: C;
  /** character_statistics in camelCase (null when the row is missing). */
  statistics: Record<string, unknown> | null;
  pvp: Record<string, unknown> | null;
  abilities: LoadedAbility[];
  /** One entry per faction (neutral 0 when never changed). */
  standings: LoadedStanding[];
  inventory: LoadedItem[];
  equipment: Array<{ slotName: string; itemId: number | null }>;
  /** Accepted or in-progress missions with their objectives. */
  activeMissions: LoadedMission[];
  relationships: LoadedRelationship[];
  /** The ability loadout by slot, as `abilities.loadout` returns it. */
  loadout: LoadoutSlot[];
  /** The seven reputations and CQ points, as `factions.reputations` returns them. */
  reputations: Reputations;
  crew: LoadedCrew | null;
  organization: LoadedOrganization | null;
}

const FACTION_ORDER = ['zion', 'machine', 'merovingian'] as const;

/** Shapes the two parts the way the single reads (inventory.list, missions.list, ...) return them. */
export function buildCharacterLoad<C>(
  character: C,
  characterId: number,
  parts: Record<string, LoadedRow | LoadedRow[] | null>,
  membership: Row | undefined,
): CharacterLoad<C> {
  const standings = parts.standings as LoadedRow[];
  const missions = parts.missions as LoadedRow[];
  return {
    character,
    statistics: parts.statistics as LoadedRow | null,
    pvp: parts.pvp as LoadedRow | null,
    abilities: parts.abilities as unknown as LoadedAbility[],
    standings: FACTION_ORDER.map((faction) => {
      const s = standings.find((r) => r.faction === faction);
      return {
        faction,
        standingPoints: Number(s?.standingPoints ?? 0),
        reputationLevel: String(s?.reputationLevel ?? 'neutral'),
        lastUpdated: (s?.lastUpdated as Date | null | undefined) ?? null,
      };
    }),
    inventory: parts.inventory as unknown as LoadedItem[],
    equipment: parts.equipment as unknown as Array<{ slotName: string; itemId: number | null }>,
    activeMissions: missions.map((m) => {
      const definitions = (m.templateObjectives as Array<{ description?: string }> | null) ?? [];
      const objectives = (m.progress as LoadedRow[]).map((o) => ({
        objectiveIndex: Number(o.objectiveIndex),
        description: definitions[Number(o.objectiveIndex)]?.description ?? '',
        currentProgress: Number(o.currentProgress),
        requiredProgress: Number(o.requiredProgress),
        isCompleted: Boolean(o.isCompleted),
      }));
      return {
        characterId,
        missionId: Number(m.missionId),
        missionName: String(m.missionName),
        missionType: String(m.missionType),
        status: String(m.missionStatus),
        acceptedAt: (m.acceptedDate as Date | null) ?? null,
        completedAt: (m.completedDate as Date | null) ?? null,
        objectives,
        readyToComplete: objectives.every((o) => o.isCompleted),
      };
    }),
    relationships: (parts.relationships as LoadedRow[]).map((r) => ({
      characterId,
      targetCharacterId: Number(r.targetCharacterId),
      type: String(r.relationshipType),
      notes: (r.notes as string | null) ?? null,
      isMutual: Boolean(r.isMutual),
    })),
    loadout: (parts.loadout as LoadedRow[]).map((l) => ({
      slot: Number(l.slotNumber),
      abilityId: Number(l.abilityId),
      loaded: Boolean(l.isLoaded),
    })),
    reputations: {
      reputations: Object.fromEntries(
        REPUTATION_ORGANIZATIONS.map((o) => [o, Number((parts.reputations as LoadedRow[]).find((r) => r.organization === o)?.points ?? 0)]),
      ) as Reputations['reputations'],
      cqPoints: Number((parts.cq as LoadedRow).cqPoints),
    },
    crew:
      membership?.crew_id == null
        ? null
        : {
            crewId: Number(membership.crew_id),
            crewName: String(membership.crew_name),
            captainId: membership.captain_id === null ? null : Number(membership.captain_id),
            memberCount: Number(membership.crew_member_count),
            position: String(membership.crew_position),
          },
    organization:
      membership?.organization_id == null
        ? null
        : {
            organizationId: Number(membership.organization_id),
            organizationName: String(membership.organization_name),
            faction: String(membership.organization_faction),
            leaderId: membership.leader_id === null ? null : Number(membership.leader_id),
            rankName: String(membership.rank_name),
            rankLevel: Number(membership.rank_level),
            permissions: Number(membership.permissions),
          },
  };
}
