/**
 * A small BEIR folder cut from SciFact for docs commands whose full-collection run would
 * cost minutes of CPU (training on 809 queries, an LLM over 300, a cross-encoder over
 * 6,000 pairs): the first 20 train queries with their judgments, the first 10 test
 * queries with theirs, and a corpus of the bundled sample (examples/scifact-mini, the
 * test queries' documents) plus the train queries' judged documents. Real queries and
 * judgments, so every command runs the same code path; only the counts shrink.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const TRAIN_QUERIES = 20;
const TEST_QUERIES = 10;

function qrelsRows(file: string): string[][] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() && !l.startsWith("query-id"))
    .map((l) => l.split("\t"));
}

function firstQueries(rows: string[][], n: number): Set<string> {
  const ids = new Set<string>();
  for (const [q] of rows) {
    if (ids.size === n && !ids.has(q)) break;
    ids.add(q);
  }
  return ids;
}

function jsonl(file: string): Array<{ line: string; id: string }> {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => ({ line, id: String((JSON.parse(line) as { _id: string })._id) }));
}

export function writeSciFactSlice(out: string, scifact: string, sample: string): void {
  const train = qrelsRows(join(scifact, "qrels/train.tsv"));
  const test = qrelsRows(join(sample, "qrels/test.tsv"));
  const trainIds = firstQueries(train, TRAIN_QUERIES);
  const testIds = firstQueries(test, TEST_QUERIES);
  const trainRows = train.filter(([q]) => trainIds.has(q));
  const testRows = test.filter(([q]) => testIds.has(q));

  const corpus = jsonl(join(sample, "corpus.jsonl"));
  const have = new Set(corpus.map((d) => d.id));
  const wanted = new Set(trainRows.map(([, d]) => d).filter((d) => !have.has(d)));
  const extra = jsonl(join(scifact, "corpus.jsonl")).filter((d) => wanted.has(d.id));
  const queries = jsonl(join(scifact, "queries.jsonl")).filter((q) => trainIds.has(q.id) || testIds.has(q.id));

  mkdirSync(join(out, "qrels"), { recursive: true });
  writeFileSync(join(out, "corpus.jsonl"), [...corpus, ...extra].map((d) => d.line).join("\n") + "\n");
  writeFileSync(join(out, "queries.jsonl"), queries.map((q) => q.line).join("\n") + "\n");
  const tsv = (rows: string[][]) => ["query-id\tcorpus-id\tscore", ...rows.map((r) => r.join("\t"))].join("\n") + "\n";
  writeFileSync(join(out, "qrels/train.tsv"), tsv(trainRows));
  writeFileSync(join(out, "qrels/test.tsv"), tsv(testRows));
}
