/**
 * When to merge segments (Lucene's TieredMergePolicy, simplified): segments fall in
 * tiers by live size (powers of `tierBase`, documents below `floorDocs` counting as
 * `floorDocs`); a tier holding `segmentsPerTier` or more segments has its smallest
 * `segmentsPerTier` merged into one, so an index of N documents keeps about
 * segmentsPerTier · log_tierBase(N / floorDocs) segments and each document is rewritten
 * about log(N) times over its life. A segment whose deleted share reaches
 * `maxDeletedShare` is rewritten on its own (expunging deletions keeps statistics cheap
 * to correct and postings dense).
 */
export interface MergePolicy {
  segmentsPerTier: number;
  tierBase: number;
  floorDocs: number;
  maxDeletedShare: number;
}

export const DEFAULT_MERGE_POLICY: Readonly<MergePolicy> = Object.freeze({ segmentsPerTier: 10, tierBase: 10, floorDocs: 1000, maxDeletedShare: 0.25 });

export interface SegmentSize {
  name: string;
  maxDoc: number;
  deleted: number;
}

/** Groups of segment names to merge (each group into one segment); empty when none is due. */
export function planMerges(segments: ReadonlyArray<SegmentSize>, policy: MergePolicy = DEFAULT_MERGE_POLICY): string[][] {
  const groups: string[][] = [];
  const used = new Set<string>();
  const tiers = new Map<number, SegmentSize[]>();
  for (const s of segments) {
    const live = s.maxDoc - s.deleted;
    const tier = Math.floor(Math.log(Math.max(live, policy.floorDocs) / policy.floorDocs) / Math.log(policy.tierBase));
    const list = tiers.get(tier) ?? [];
    list.push(s);
    tiers.set(tier, list);
  }
  for (const list of tiers.values()) {
    if (list.length < policy.segmentsPerTier) continue;
    const group = [...list].sort((a, b) => a.maxDoc - a.deleted - (b.maxDoc - b.deleted)).slice(0, policy.segmentsPerTier);
    for (const s of group) used.add(s.name);
    groups.push(group.map((s) => s.name));
  }
  for (const s of segments) {
    if (!used.has(s.name) && s.maxDoc > 0 && s.deleted / s.maxDoc >= policy.maxDeletedShare) groups.push([s.name]);
  }
  return groups;
}
