/**
 * GTID positions as MariaDB writes them: `domain-server-sequence`, comma-separated, one per
 * replication domain. Merging keeps the highest sequence per domain, which is what
 * `MASTER_GTID_WAIT` needs to know a replica has applied everything up to a write.
 */
export function mergeGtidPositions(a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b || undefined;
  if (!b) return a;
  const byDomain = new Map<string, { server: string; seq: bigint }>();
  for (const gtid of `${a},${b}`.split(',')) {
    const parts = gtid.trim().split('-');
    if (parts.length !== 3) continue;
    const [domain, server, seq] = parts as [string, string, string];
    const current = byDomain.get(domain);
    if (!current || BigInt(seq) > current.seq) byDomain.set(domain, { server, seq: BigInt(seq) });
  }
  return [...byDomain.entries()].map(([d, { server, seq }]) => `${d}-${server}-${seq}`).join(',') || undefined;
}

/** True when `text` is a syntactically valid GTID position list. */
export function isGtidPosition(text: string): boolean {
  return /^\d+-\d+-\d+(,\d+-\d+-\d+)*$/.test(text);
}

/** True when position `have` includes everything in `want` (per domain, sequence >=). */
export function gtidPositionCovers(have: string, want: string): boolean {
  const seqs = new Map<string, bigint>();
  for (const gtid of have.split(',')) {
    const [domain, , seq] = gtid.trim().split('-');
    if (domain !== undefined && seq !== undefined) seqs.set(domain, BigInt(seq));
  }
  for (const gtid of want.split(',')) {
    const [domain, , seq] = gtid.trim().split('-');
    if (domain === undefined || seq === undefined) continue;
    if ((seqs.get(domain) ?? -1n) < BigInt(seq)) return false;
  }
  return true;
}
