/**
 * mxo-data: the data-access layer of a Matrix Online server cluster.
 * Start with {@link openCluster}; see README.md for the tour.
 */
export { openCluster, Cluster, type OpenClusterOptions, type MigrateReport } from './cluster.js';
export type { NodeDurability } from './ops/durability.js';
export { tryLease, withLease, type Lease, type LeaseOptions } from './ops/lease.js';
export { DataSession } from './data-session.js';
export { defineCluster, resolveClusterConfig, type ClusterConfig, type ShardConfig } from './config/cluster-config.js';
export type { ClusterConfigInput, NodeInput } from './config/schema.js';
export type { NodeAddress } from './config/node-address.js';
export * from './errors.js';
export { WriteBehindDeferredError, WriteBehindFullError, type Position } from './writebehind/write-behind-buffer.js';
export type { ActionLogEntry } from './repos/logs.js';
export { createMetrics, type Metrics } from './metrics/metrics.js';
export type { Consistency } from './routing/read-router.js';
export type { Character, MoneyReason } from './repos/characters.js';
export type { InventoryItem } from './repos/inventory.js';
export type { TradeInput, TradeResult } from './repos/trades.js';
export type { LoginResult } from './repos/accounts.js';
export type { PlayerSummary, HistoryEntry, LeaderboardEntry } from './repos/players.js';
export type { EconomyDay } from './repos/economy.js';
export type { Relationship } from './repos/social.js';
export type { RegisterInput, LoginInput, PasswordResetRequest, TwoFactorSetup } from './repos/accounts.js';
export { ORG_PERMISSION_TREASURY } from './repos/organizations.js';
export type { OrganizationInput, OrganizationRank, OrganizationMember, Organization, TreasuryResult } from './repos/organizations.js';
export type { RelationshipInput, CrewInput } from './repos/social.js';
export type { PunishInput, Punishment, PunishmentType } from './repos/moderation.js';
export type { ChatMessage, SystemLogEntry, ChatHistoryQuery, SystemLogQuery } from './repos/logs.js';
export type { EquipmentSummary } from './repos/players.js';
export type { EquipmentSummaryRow } from './sql/equipment-summary.js';
export type {
  CharacterLoad,
  LoadedAbility,
  LoadedStanding,
  LoadedItem,
  LoadedMission,
  LoadedRelationship,
  LoadedCrew,
  LoadedOrganization,
} from './sql/character-load-shape.js';
export { TOTP_STEP_SECONDS, totpCode, totpStep } from './game/totp.js';
export type { RecoveryReport } from './twopc/recovery.js';
export type { BackupFile, BackupOptions } from './backup/backup.js';
export type { ClusterStatus, NodeStatus, InDoubtBranch, SchemaStatus, ShardStatus } from './ops/status.js';
export type { RestoreOptions, RestoreReport } from './ops/restore.js';
export type { SequenceReport } from './ops/restore-sequences.js';
export type { CreateUsersOptions, UsersReport } from './ops/users.js';
export type { BackupManifest, ManifestTier } from './backup/manifest.js';
export type { TableChecksum } from './backup/table-checksums.js';
export type { ReplicaRepairReport } from './replica/xa-replica-repair.js';
export type { CoordinatorHooks, CoordinatorPhase } from './twopc/coordinator.js';
export { startSandbox, stopSandboxDir, type Sandbox, type SandboxNode, type SandboxOptions } from './sandbox/index.js';
export { metricsHandler, type MetricsHandlerOptions } from './metrics/http-handler.js';
export { startMetricsServer, type MetricsServer, type MetricsServerOptions } from './metrics/metrics-server.js';
export type { CombatRecordInput, CombatRecordResult, PvpStanding } from './repos/combat.js';
export type { InterlockStartInput, InterlockRoundInput, InterlockFinishInput, InterlockResult } from './repos/interlock.js';
export type { VendorDefinition, Vendor, VendorPurchase, VendorSale, VendorBuyInput, VendorSellInput } from './repos/vendors.js';
export { K_FACTOR, RATING_FLOOR, expectedScore, nextRating, rankOf } from './game/pvp-rating.js';
export type { ItemPlace, ItemModification, ItemModificationRecord } from './repos/inventory.js';
export { EQUIPMENT_SLOTS, REPAIR_RATE, repairCost, type SlotName } from './game/equipment-slots.js';
export type { TradeOffer, TradeWindow, TradeConfirmation } from './repos/trade-windows.js';
export type {
  DistrictDefinition,
  WorldObjectSpawn,
  HardlineDefinition,
  WorldEventStart,
  DistrictActivity,
  DistrictLoad,
} from './repos/world-content.js';
export type { MoveResult } from './sql/character-move.js';
export type { MissionProgress, MissionCompletion, MissionHistoryEntry } from './repos/missions.js';
export type { MissionTemplateInput, MissionTemplate, MissionStatus, MissionType, ItemQuantity } from './game/mission-template.js';
export type { MissionState, MissionObjective } from './sql/mission-rows.js';
export type { MissionReward, RewardItem } from './sql/mission-rewards.js';
export type { AbilityDefinitionInput, CharacterAbility } from './repos/abilities.js';
export type { FactionStanding, StandingChange } from './repos/factions.js';
export type { Faction, ReputationLevel } from './game/reputation.js';
export { levelCurve, DEFAULT_LEVEL_CURVE, type LevelCurve, type LevelCurveOptions, type Progression } from './game/level-curve.js';
export type { AttributesInput, VitalsInput } from './game/progression-input.js';
export type { Attributes } from './sql/attributes.js';
export type { CoalescedKind } from './writebehind/coalesced.js';
export type { PresenceClaimInput, PresenceClaim, PresenceLocation, HandoffInput, HandoffResult } from './repos/presence.js';
export type { PositionOptions } from './repos/world.js';
export type { ClientHardline, HardlinePlace, HardlineTrip, KnownHardline, StaticObject, StaticObjectInput, WorldObjectType, WorldObjectState } from './repos/world-client.js';
export type { WorldInput, WorldReport, WorldListing, DistrictFile } from './repos/worlds.js';
export type { Appearance, AppearanceField, CharacterProfile, NamedCharacter } from './sql/character-identity.js';
