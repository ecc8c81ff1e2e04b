import { z } from 'zod';
import { parseInput } from '../validate.js';
import type { Consistency } from './read-router.js';

// Built once: this runs on every read.
const CONSISTENCY = z.enum(['strong', 'session', 'eventual']);

/** Reads the `consistency` option of a read call (validated like any input), with its default. */
export function consistencyOf(options: { consistency?: Consistency } | undefined, fallback: Consistency): Consistency {
  if (options?.consistency === undefined) return fallback;
  return parseInput(CONSISTENCY, options.consistency, 'consistency');
}
