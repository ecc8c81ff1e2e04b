import { addShard } from './add-shard.js';
import { adminLevel } from './admin-level.js';
import { backup } from './backup.js';
import type { Command } from './command.js';
import { demo } from './demo.js';
import { failover } from './failover.js';
import { maintain } from './maintain.js';
import { migrate } from './migrate.js';
import { moveDistrict } from './move-district.js';
import { play, playWorker } from './play.js';
import { recover } from './recover.js';
import { repairReplicas } from './repair-replicas.js';
import { restore } from './restore.js';
import { sandbox } from './sandbox.js';
import { status } from './status.js';
import { users } from './users.js';
import { verify } from './verify.js';

/** Every command, in the order the help text lists them. */
export const COMMANDS: Command[] = [
  play,
  demo,
  status,
  verify,
  maintain,
  migrate,
  recover,
  repairReplicas,
  moveDistrict,
  addShard,
  failover,
  adminLevel,
  backup,
  restore,
  users,
  sandbox,
  playWorker,
];
