import type { BatchScorer, PrepareOptions, ScoringUnit } from "../core/batch-scorer.js";

/**
 * What the side that tokenized a request hands back instead of its units: a handle and,
 * per unit, what scheduling needs (its token count and which text it belongs to). The
 * token ids stay with the model; a late-interaction model's token matrices would make
 * copying them to the HTTP thread and back cost more than the scheduling gains.
 */
export interface PreparedHandle {
  handle: number;
  /** Token count of each unit, in unit order: the batcher's padded-token budget reads these. */
  unitTokens: Int32Array;
  /** owner[u] = index of the input text unit u belongs to. */
  owner: Int32Array;
  /** Total tokens over all units. */
  tokens: number;
  tokenizeMs: number;
}

/** Which units a forward pass scores: pairs of (handle, unit index), as two parallel arrays. */
export interface UnitSelection {
  handles: Int32Array;
  units: Int32Array;
}

interface Held<U> {
  units: Array<U | undefined>;
  /** Units not yet scored or freed. */
  left: number;
}

/**
 * Tokenized units kept where the model is (the model worker, or this thread for a
 * reranker instance), looked up by handle when a forward pass is due. A unit is freed
 * once scored; a request that fails (deadline, disconnect, shutdown) releases what it
 * still holds; `clear` frees everything on close. So held memory is bounded by the
 * batcher's queue, whatever clients do.
 */
export class PreparedUnitStore<U extends ScoringUnit = ScoringUnit> {
  private readonly held = new Map<number, Held<U>>();
  private nextHandle = 1;
  private heldUnits = 0;

  constructor(private readonly scorer: BatchScorer<U>) {}

  /** Units tokenized and not yet scored or released. */
  get size(): number {
    return this.heldUnits;
  }

  async prepare(query: string, texts: readonly string[], options: PrepareOptions = {}): Promise<PreparedHandle> {
    const prepared = await this.scorer.prepare(query, texts, options);
    const handle = this.nextHandle++;
    if (prepared.units.length > 0) {
      this.held.set(handle, { units: [...prepared.units], left: prepared.units.length });
      this.heldUnits += prepared.units.length;
    }
    return {
      handle,
      unitTokens: Int32Array.from(prepared.units, (u) => u.tokens),
      owner: Int32Array.from(prepared.owner),
      tokens: prepared.tokens,
      tokenizeMs: prepared.tokenizeMs,
    };
  }

  /**
   * One forward pass over the selected units; each is freed as it is taken. A unit
   * already released (its request failed meanwhile) is not run and gets NaN: nobody
   * reads its score. Units are looked up before the first await, so a release that
   * arrives while the pass runs cannot take units out from under it.
   */
  async score(selection: UnitSelection, signal?: AbortSignal): Promise<Float32Array> {
    const n = selection.units.length;
    const logits = new Float32Array(n).fill(Number.NaN);
    const run: U[] = [];
    const at: number[] = [];
    for (let i = 0; i < n; i++) {
      const unit = this.take(selection.handles[i], selection.units[i]);
      if (unit === undefined) continue;
      run.push(unit);
      at.push(i);
    }
    if (run.length === 0) return logits;
    const out = await this.scorer.scoreUnits(run, signal);
    for (let k = 0; k < at.length; k++) logits[at[k]] = out[k];
    return logits;
  }

  /** Frees what a handle still holds (idempotent; a handle fully scored is already gone). */
  release(handle: number): void {
    const h = this.held.get(handle);
    if (!h) return;
    this.heldUnits -= h.left;
    this.held.delete(handle);
  }

  clear(): void {
    this.held.clear();
    this.heldUnits = 0;
  }

  private take(handle: number, unit: number): U | undefined {
    const h = this.held.get(handle);
    const u = h?.units[unit];
    if (!h || u === undefined) return undefined;
    h.units[unit] = undefined;
    h.left--;
    this.heldUnits--;
    if (h.left === 0) this.held.delete(handle);
    return u;
  }
}
