/**
 * What every benchmark reports: named figures with their goal, printed as a table line and, with
 * `npm run bench -- --json`, collected into one JSON document on stdout at the end.
 */
export interface Figure {
  suite: string;
  name: string;
  /** The median over the repeated measurements. */
  value: number;
  unit: string;
  /** Every repeated measurement, in order (the spread). */
  runs: number[];
  goal?: { op: '>=' | '<='; value: number; met: boolean };
}

const figures: Figure[] = [];
export const jsonOutput = process.argv.includes('--json');

/** Records a figure (median of `runs`) and prints it unless the output is JSON. */
export function report(suite: string, name: string, runs: number[], unit: string, goal?: { op: '>=' | '<='; value: number }): Figure {
  const value = median(runs);
  const figure: Figure = {
    suite,
    name,
    value,
    unit,
    runs,
    goal: goal && { ...goal, met: goal.op === '>=' ? value >= goal.value : value <= goal.value },
  };
  figures.push(figure);
  const spread = runs.length > 1 ? ` (runs ${runs.map((r) => r.toFixed(2)).join(', ')})` : '';
  const verdict = figure.goal ? `; goal ${goal!.op} ${goal!.value}${unit}: ${figure.goal.met ? 'met' : 'NOT MET'}` : '';
  say(`  ${name.padEnd(58)} ${value.toFixed(2).padStart(8)}${unit}${spread}${verdict}`);
  return figure;
}

/** Prints a line of the human-readable report (to stderr under --json, so stdout stays JSON). */
export function say(line: string): void {
  if (jsonOutput) console.error(line);
  else console.log(line);
}

/** Everything recorded so far, as `npm run bench -- --json` prints it. */
export function allFigures(): Figure[] {
  return figures;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
