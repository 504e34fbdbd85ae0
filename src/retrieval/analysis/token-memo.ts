/**
 * A memo keyed by a slice of a string, probed with the slice's characters in place.
 * Analysis sees each surface form thousands of times; looking it up in a Map would
 * first need a fresh string per token, and hashing those was the largest cost of
 * indexing SciFact (measured). Open addressing with linear probing, FNV-1a hashes,
 * grows at half load, and empties itself past `limit` entries to bound memory.
 */
export class TokenMemo<V> {
  private hashes = new Int32Array(1 << 12);
  private keys: Array<string | undefined> = new Array(1 << 12);
  private values: V[] = new Array(1 << 12);
  private count = 0;

  constructor(private readonly limit = 1 << 20) {}

  get size(): number {
    return this.count;
  }

  /**
   * The value for text[start, end), computing and storing it with `compute(token)` on a
   * miss (the token string is only built then).
   */
  get(text: string, start: number, end: number, compute: (token: string) => V): V {
    let h = 0x811c9dc5 | 0;
    for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    const len = end - start;
    const keys = this.keys;
    let mask = keys.length - 1;
    let slot = h & mask;
    for (;;) {
      const key = keys[slot];
      if (key === undefined) break;
      if (this.hashes[slot] === h && key.length === len) {
        let i = 0;
        while (i < len && key.charCodeAt(i) === text.charCodeAt(start + i)) i++;
        if (i === len) return this.values[slot];
      }
      slot = (slot + 1) & mask;
    }
    const token = text.slice(start, end);
    const value = compute(token);
    if (this.count >= this.limit) this.rebuild(this.keys.length, false);
    else if ((this.count + 1) * 2 > this.keys.length) this.rebuild(this.keys.length * 2, true);
    mask = this.keys.length - 1;
    slot = h & mask;
    while (this.keys[slot] !== undefined) slot = (slot + 1) & mask;
    this.hashes[slot] = h;
    this.keys[slot] = token;
    this.values[slot] = value;
    this.count++;
    return value;
  }

  private rebuild(size: number, keep: boolean): void {
    const { hashes, keys, values } = this;
    this.hashes = new Int32Array(size);
    this.keys = new Array(size);
    this.values = new Array(size);
    this.count = 0;
    if (!keep) return;
    const mask = size - 1;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === undefined) continue;
      let slot = hashes[i] & mask;
      while (this.keys[slot] !== undefined) slot = (slot + 1) & mask;
      this.hashes[slot] = hashes[i];
      this.keys[slot] = keys[i];
      this.values[slot] = values[i];
      this.count++;
    }
  }
}
