import { closeSync, openSync, writeSync } from "node:fs";
import { SeededRandom } from "./seeded-random.js";

/** Something that makes document texts and queries, deterministically from a seeded PRNG. */
export interface CorpusGenerator {
  readonly name: string;
  /** One document's text. */
  documentText(rng: SeededRandom): string;
  /** `count` query texts (the same ones for every corpus size). */
  queries(count: number): string[];
}

const FLUSH_CHARS = 1 << 22;

/** Zero-padded so that id order (Lucene's and Winnow's tie order) is generation order, as Lucene's docid is. */
export function syntheticId(i: number): string {
  return "d" + String(i).padStart(9, "0");
}

/**
 * Writes `docs` generated documents as BEIR corpus.jsonl lines, streaming through a
 * 4 MiB buffer: memory stays flat whatever the corpus size.
 */
export function writeCorpusFile(path: string, docs: number, generator: CorpusGenerator, seed: number): { bytes: number; words: number } {
  const rng = new SeededRandom(seed);
  const fd = openSync(path, "w");
  let chunk = "";
  let bytes = 0;
  let words = 0;
  try {
    for (let i = 0; i < docs; i++) {
      const text = generator.documentText(rng);
      for (let p = text.indexOf(" "); p >= 0; p = text.indexOf(" ", p + 1)) words++;
      words++;
      chunk += `{"_id":"${syntheticId(i)}","title":"","text":${JSON.stringify(text)}}\n`;
      if (chunk.length >= FLUSH_CHARS) {
        bytes += writeSync(fd, chunk);
        chunk = "";
      }
    }
    if (chunk.length > 0) bytes += writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
  return { bytes, words };
}
