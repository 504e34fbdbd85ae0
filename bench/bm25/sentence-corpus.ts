import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CorpusGenerator } from "./corpus-file.js";
import type { SeededRandom } from "./seeded-random.js";

/** The shared collections sentences and queries are drawn from. */
export const SHARED_COLLECTIONS = ["scifact", "cranfield", "cisi", "adi"];

/**
 * Documents made of sentences sampled (uniformly, with replacement) from the shared
 * collections' documents, until a length drawn from a lognormal (median 200 words,
 * sigma 0.5: mean about 227) is reached. Realistic text and term statistics, but the
 * vocabulary is capped by the source (about 32k analyzed terms), which is why
 * ZipfCorpus exists too. Queries: the collections' own queries, interleaved.
 */
export class SentenceCorpus implements CorpusGenerator {
  readonly name = "sentences";
  private readonly sentences: string[] = [];
  private readonly sentenceWords: Uint16Array;
  private readonly allQueries: string[][] = [];

  constructor(datasetsDir: string) {
    const lengths: number[] = [];
    for (const c of SHARED_COLLECTIONS) {
      const corpus = join(datasetsDir, c, "corpus.jsonl");
      if (!existsSync(corpus)) continue;
      for (const line of readFileSync(corpus, "utf8").split("\n")) {
        if (line.length === 0) continue;
        const doc = JSON.parse(line) as { title?: string; text?: string };
        const text = `${doc.title ?? ""} ${doc.text ?? ""}`.replace(/\s+/g, " ").trim();
        for (const s of text.split(/(?<=[.!?])\s+/)) {
          const words = s.split(" ").length;
          if (words < 3) continue;
          this.sentences.push(s);
          lengths.push(Math.min(words, 65535));
        }
      }
      const queries: string[] = [];
      for (const line of readFileSync(join(datasetsDir, c, "queries.jsonl"), "utf8").split("\n")) {
        if (line.length > 0) queries.push((JSON.parse(line) as { text: string }).text.replace(/\s+/g, " ").trim());
      }
      this.allQueries.push(queries);
    }
    if (this.sentences.length === 0) throw new Error(`no shared collections under ${datasetsDir} to sample sentences from`);
    this.sentenceWords = Uint16Array.from(lengths);
  }

  get sentenceCount(): number {
    return this.sentences.length;
  }

  documentText(rng: SeededRandom): string {
    const target = rng.lognormalInt(200, 0.5, 5);
    const parts: string[] = [];
    let words = 0;
    while (words < target) {
      const i = rng.int(this.sentences.length);
      parts.push(this.sentences[i]);
      words += this.sentenceWords[i];
    }
    return parts.join(" ");
  }

  /** Round-robin over the collections' queries (SciFact, Cranfield, CISI, ADI, SciFact, ...), each in file order. */
  queries(count: number): string[] {
    const out: string[] = [];
    const total = this.allQueries.reduce((n, q) => n + q.length, 0);
    for (let round = 0; out.length < Math.min(count, total); round++) {
      for (const q of this.allQueries) if (round < q.length && out.length < count) out.push(q[round]);
    }
    return out;
  }
}
