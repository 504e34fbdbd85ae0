import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { register as registerEmbed } from "../../src/cli/commands/embed.js";
import { readCorpus } from "../../src/eval/readers/beir.js";
import { loadPipeline } from "../../src/pipeline/pipeline-config.js";
import { Bm25Index } from "../../src/retrieval/bm25/bm25-index.js";
import { ExactVectorIndex } from "../../src/retrieval/vector/exact-vector-index.js";

/**
 * The hybrid path end to end: BM25 index → `winnow embed --vectors` (bring your own) →
 * a YAML pipeline with BM25 and dense pools fused by RRF, queries embedded by an
 * OpenAI-compatible server. Vectors are bag-of-letters counts, so "nearest" is checkable.
 */
const repo = resolve(import.meta.dirname, "../..");
let dir: string;
let server: Server;
let baseUrl: string;
const letters = (t: string) => Array.from({ length: 26 }, (_, i) => [...t.toLowerCase()].filter((c) => c.charCodeAt(0) - 97 === i).length);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "winnow-hybrid-"));
  const index = await Bm25Index.build(readCorpus(join(repo, "examples/scifact-mini")));
  await index.save(join(dir, "idx"));
  const lines: string[] = [];
  for (let i = 0; i < index.size; i++) {
    const d = index.document(i);
    lines.push(JSON.stringify({ id: d.id, vector: letters(`${d.title ?? ""} ${d.text}`) }));
  }
  writeFileSync(join(dir, "vectors.jsonl"), lines.join("\n"));
  server = createServer(async (req, res) => {
    let body = "";
    for await (const c of req) body += String(c);
    const { input } = JSON.parse(body) as { input: string[] };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ data: input.map((t, index) => ({ index, embedding: letters(t) })) }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("hybrid BM25 + dense pipeline", () => {
  it("imports vectors with `winnow embed`, then fuses BM25 and dense pools with RRF", async () => {
    const program = new Command().exitOverride();
    registerEmbed(program);
    const log: string[] = [];
    const original = console.log;
    console.log = (m: string) => log.push(m);
    try {
      await program.parseAsync(["embed", "--index", join(dir, "idx"), "--vectors", join(dir, "vectors.jsonl"), "--hnsw"], { from: "user" });
    } finally {
      console.log = original;
    }
    expect(log.join("\n")).toMatch(/683 vectors of dimension 26 written/);
    const stored = await ExactVectorIndex.load(join(dir, "idx", "vectors.wnvec"));
    expect(stored.size).toBe(683);

    writeFileSync(
      join(dir, "hybrid.yaml"),
      [
        "retrievers:",
        "  - { type: bm25, index: ./idx, k: 20 }",
        `  - { type: dense, index: ./idx, k: 20, embedder: { type: openai, baseUrl: "${baseUrl}", model: letters } }`,
        "fusion: { method: rrf, k: 60 }",
        "topN: 40",
      ].join("\n"),
    );
    const pipeline = await loadPipeline(join(dir, "hybrid.yaml"));
    try {
      const r = await pipeline.search("cholesterol statins");
      expect(Object.keys(r.timings.retrieval).sort()).toEqual(["bm25", "dense"]);
      const sources = new Set(r.results.map((h) => h.source));
      expect([...sources].some((s) => s?.includes("dense"))).toBe(true);
      expect([...sources].some((s) => s?.includes("bm25"))).toBe(true);
      // RRF bounds: one pool alone gives at most 1/61, both pools at least 2/80
      for (const h of r.results) {
        if (h.source === "bm25" || h.source === "dense") expect(h.scores.rrf).toBeLessThanOrEqual(1 / 61 + 1e-12);
        else expect(h.scores.rrf).toBeGreaterThanOrEqual(2 / 80 - 1e-12);
      }
      expect(r.results[0].scores.rrf).toBeGreaterThanOrEqual(r.results.at(-1)!.scores.rrf);
      const dense = r.results.find((h) => h.scores.dense !== undefined)!;
      expect(dense.scores.dense).toBeGreaterThan(0.5);
    } finally {
      await pipeline.close();
    }
  });
});
