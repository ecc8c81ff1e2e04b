import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { placementLabel, TABLES } from '../src/schema/table-registry.js';

// docs/design.md's "Where each table lives" is the registry written out for readers: a table
// added, moved or removed in one and not the other fails here.
function docsTable(): Map<string, string[]> {
  const text = readFileSync('docs/design.md', 'utf8');
  const section = text.split('## Where each table lives')[1]?.split('\n## ')[0] ?? '';
  const rows = new Map<string, string[]>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 4 || cells[1] === 'tier' || cells[1]!.startsWith('---')) continue;
    // A note in parentheses after a name (e.g. "server_economy (cluster roll-up)") is for readers.
    const tables = cells[2]!
      .replace(/\([^)]*\)/g, '')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    rows.set(cells[1]!, tables.sort());
  }
  return rows;
}

describe("docs/design.md's table of tiers", () => {
  it('lists every table of the registry in its row, and nothing else', () => {
    const expected = new Map<string, string[]>();
    for (const t of TABLES) expected.set(placementLabel(t), [...(expected.get(placementLabel(t)) ?? []), t.table]);
    for (const list of expected.values()) list.sort();
    expect(Object.fromEntries(docsTable())).toEqual(Object.fromEntries(expected));
  });
});
