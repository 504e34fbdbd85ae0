import type { CorpusGenerator } from "./corpus-file.js";
import { SeededRandom } from "./seeded-random.js";

const CONSONANTS = "bdfgklmnprstvz";
const VOWELS = "aeiou";
const SYLLABLES = CONSONANTS.length * VOWELS.length;

/** Rank r's word: r written in base 70 with consonant-vowel syllables, at least two (no stop word, no collisions before stemming). */
export function zipfWord(rank: number): string {
  let s = "";
  let r = rank;
  do {
    const d = r % SYLLABLES;
    s = CONSONANTS[Math.floor(d / VOWELS.length)] + VOWELS[d % VOWELS.length] + s;
    r = Math.floor(r / SYLLABLES);
  } while (r > 0);
  return s.length < 4 ? "ka" + s : s;
}

/**
 * Documents of words drawn independently from a Zipfian vocabulary: P(rank r) ∝ r^-s
 * over `vocabulary` word types (default 2,000,000 types, s = 1.07, close to English
 * word frequencies), lengths lognormal (median 200, sigma 0.5) as SentenceCorpus. The
 * vocabulary keeps growing with the corpus (Heaps' law), unlike sampled sentences.
 * Sampling is O(1) per word by Vose's alias method. Queries: 2–8 words drawn from the
 * same distribution restricted to ranks ≥ 20 (the top ranks play the stop words' role),
 * from their own seed.
 */
export class ZipfCorpus implements CorpusGenerator {
  readonly name = "zipf";
  private readonly prob: Float64Array;
  private readonly alias: Int32Array;
  private readonly words: string[];

  constructor(
    readonly vocabulary = 2_000_000,
    readonly exponent = 1.07,
  ) {
    const n = vocabulary;
    const weights = new Float64Array(n);
    let sum = 0;
    for (let r = 0; r < n; r++) sum += weights[r] = Math.pow(r + 1, -exponent);
    this.prob = new Float64Array(n);
    this.alias = new Int32Array(n);
    const small: number[] = [];
    const large: number[] = [];
    for (let r = 0; r < n; r++) {
      weights[r] = (weights[r] * n) / sum;
      (weights[r] < 1 ? small : large).push(r);
    }
    while (small.length > 0 && large.length > 0) {
      const s = small.pop()!;
      const l = large[large.length - 1];
      this.prob[s] = weights[s];
      this.alias[s] = l;
      weights[l] = weights[l] + weights[s] - 1;
      if (weights[l] < 1) small.push(large.pop()!);
    }
    for (const r of large) this.prob[r] = 1;
    for (const r of small) this.prob[r] = 1;
    // Words are made on first draw and kept: most draws hit the few thousand top ranks.
    this.words = new Array<string>(n);
  }

  private draw(rng: SeededRandom): number {
    const i = rng.int(this.vocabulary);
    return rng.next() < this.prob[i] ? i : this.alias[i];
  }

  private word(rank: number): string {
    return (this.words[rank] ??= zipfWord(rank));
  }

  documentText(rng: SeededRandom): string {
    const length = rng.lognormalInt(200, 0.5, 5);
    const parts = new Array<string>(length);
    for (let i = 0; i < length; i++) parts[i] = this.word(this.draw(rng));
    return parts.join(" ");
  }

  queries(count: number): string[] {
    const rng = new SeededRandom(0x5eed_0001);
    const out: string[] = [];
    for (let q = 0; q < count; q++) {
      const length = 2 + rng.int(7);
      const parts: string[] = [];
      while (parts.length < length) {
        const r = this.draw(rng);
        if (r >= 20) parts.push(this.word(r));
      }
      out.push(parts.join(" "));
    }
    return out;
  }
}
