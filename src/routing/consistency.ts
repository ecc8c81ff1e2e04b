import { z } from 'zod';
import { parseInput } from '../validate.js';
import type { Consistency } from './read-router.js';

// Built once: this runs on every read.
const CONSISTENCY = z.enum(['strong', 'session', 'eventual']);

/** Reads the `consistency` option of a read call (validated like any input), with its default. */
export function consistencyOf(options: { consistency?: Consistency } | undefined, fallback: Consistency): Consistency {
  const level = options?.consistency;
  if (level === undefined) return fallback;
  // The common case without zod: this runs on every read.
  if (level === 'strong' || level === 'session' || level === 'eventual') return level;
  return parseInput(CONSISTENCY, level, 'consistency');
}
