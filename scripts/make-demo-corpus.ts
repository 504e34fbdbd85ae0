/**
 * Builds examples/scifact-mini, the small corpus the README's main job runs on:
 * every SciFact document judged for a test query, plus seeded random distractors,
 * with the test queries and qrels. Run once; the output is committed (~1 MB).
 *   npx tsx scripts/make-demo-corpus.ts [../shared/datasets/scifact] [examples/scifact-mini]
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const src = process.argv[2] ?? "../shared/datasets/scifact";
const out = process.argv[3] ?? "examples/scifact-mini";
const DISTRACTORS = 400;

const qrelLines = readFileSync(join(src, "qrels/test.tsv"), "utf8").trim().split("\n");
const judged = new Set(qrelLines.slice(1).map((l) => l.split("\t")[1]));
const corpus = readFileSync(join(src, "corpus.jsonl"), "utf8").trim().split("\n");

// Seeded LCG so the subset is reproducible.
let seed = 20261122;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const others = corpus.filter((l) => !judged.has(JSON.parse(l)._id));
const picked = new Set<string>();
while (picked.size < DISTRACTORS) picked.add(others[Math.floor(rand() * others.length)]);
const keep = corpus.filter((l) => judged.has(JSON.parse(l)._id) || picked.has(l));

mkdirSync(join(out, "qrels"), { recursive: true });
writeFileSync(join(out, "corpus.jsonl"), keep.join("\n") + "\n");
const qids = new Set(qrelLines.slice(1).map((l) => l.split("\t")[0]));
const queries = readFileSync(join(src, "queries.jsonl"), "utf8").trim().split("\n");
writeFileSync(join(out, "queries.jsonl"), queries.filter((l) => qids.has(JSON.parse(l)._id)).join("\n") + "\n");
writeFileSync(join(out, "qrels/test.tsv"), qrelLines.join("\n") + "\n");
console.log(`${keep.length} documents, ${qids.size} queries -> ${out}`);
