/**
 * Reads a RankGPT-style answer ("[3] > [1] > [2]") into a permutation, repairing
 * what models really send: prose around the ranking, reasoning blocks, bare numbers,
 * ids out of range, duplicates, missing ids (appended in their previous order) and
 * empty answers. Each kind of repair is counted so callers can see how often the
 * model misbehaves.
 */
export interface PermutationRepairs {
  /** Answer had no usable ids at all (the window keeps its order). */
  empty: number;
  /** Text other than ids and separators around the ranking. */
  prose: number;
  /** Ids above n or below 1, dropped. */
  outOfRange: number;
  /** Ids named more than once; the first mention wins. */
  duplicate: number;
  /** Ids never named, appended in their previous order. */
  missing: number;
}

export function emptyRepairs(): PermutationRepairs {
  return { empty: 0, prose: 0, outOfRange: 0, duplicate: 0, missing: 0 };
}

/** Removes `<think>…</think>` blocks that reasoning models put before the answer. */
export function stripReasoning(text: string): string {
  return text.replace(/<think>[\s\S]*?<\/think>/gi, "").replace(/^[\s\S]*<\/think>/i, "");
}

/**
 * @param text the model's answer
 * @param n passages in the window (ids 1..n)
 * @returns `order`: 0-based positions into the window, best first, always a permutation of 0..n-1
 */
export function parsePermutation(text: string, n: number): { order: number[]; repairs: PermutationRepairs } {
  const repairs = emptyRepairs();
  const answer = stripReasoning(text ?? "");
  let ids = [...answer.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1]));
  let rest = answer.replace(/\[(\d+)\]/g, " ");
  if (ids.length === 0) {
    // Some models drop the brackets: "3 > 1 > 2".
    ids = [...answer.matchAll(/\b(\d+)\b/g)].map((m) => Number(m[1]));
    rest = answer.replace(/\b\d+\b/g, " ");
  }
  if (ids.length === 0) {
    repairs.empty++;
    return { order: Array.from({ length: n }, (_, i) => i), repairs };
  }
  if (/[A-Za-z]/.test(rest)) repairs.prose++;
  const seen = new Uint8Array(n);
  const order: number[] = [];
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 1 || id > n) {
      repairs.outOfRange++;
      continue;
    }
    if (seen[id - 1]) {
      repairs.duplicate++;
      continue;
    }
    seen[id - 1] = 1;
    order.push(id - 1);
  }
  if (order.length === 0) {
    repairs.empty++;
    return { order: Array.from({ length: n }, (_, i) => i), repairs };
  }
  for (let i = 0; i < n; i++) {
    if (!seen[i]) {
      repairs.missing++;
      order.push(i);
    }
  }
  return { order, repairs };
}

export function addRepairs(into: PermutationRepairs, from: PermutationRepairs): void {
  for (const k of Object.keys(into) as Array<keyof PermutationRepairs>) into[k] += from[k];
}
