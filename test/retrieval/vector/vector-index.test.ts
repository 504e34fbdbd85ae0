import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ExactVectorIndex } from "../../../src/retrieval/vector/exact-vector-index.js";
import { HnswVectorIndex } from "../../../src/retrieval/vector/hnsw-vector-index.js";
import { readVectors } from "../../../src/retrieval/vector/vector-import.js";

/** Deterministic pseudo-random numbers (a linear congruential generator is plenty for test vectors). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 4294967296);
}

function randomVectors(n: number, dim: number, seed = 1) {
  const rnd = lcg(seed);
  return Array.from({ length: n }, (_, i) => ({ id: `v${i}`, vector: Float32Array.from({ length: dim }, () => rnd() * 2 - 1) }));
}

function bruteForce(entries: ReturnType<typeof randomVectors>, q: Float32Array, k: number): string[] {
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return entries
    .map((e) => ({ id: e.id, s: e.vector.reduce((s, x, j) => s + x * q[j], 0) / norm(e.vector) }))
    .sort((a, b) => b.s - a.s)
    .slice(0, k)
    .map((x) => x.id);
}

describe("ExactVectorIndex", () => {
  const entries = randomVectors(500, 16);
  const index = ExactVectorIndex.build(entries);

  it("returns the true top k by cosine, best first", () => {
    const q = randomVectors(1, 16, 99)[0].vector;
    const hits = index.search(q, 10);
    expect(hits.map((h) => index.id(h.index))).toEqual(bruteForce(entries, q, 10));
    for (let i = 1; i < hits.length; i++) expect(hits[i - 1].score).toBeGreaterThanOrEqual(hits[i].score);
  });

  it("searches only allowed rows when filtered", () => {
    const q = randomVectors(1, 16, 5)[0].vector;
    const hits = index.search(q, 5, (i) => i % 2 === 0);
    expect(hits).toHaveLength(5);
    expect(hits.every((h) => h.index % 2 === 0)).toBe(true);
  });

  it("saves atomically to one file and loads the same index back", async () => {
    const dir = mkdtempSync(join(tmpdir(), "winnow-vec-"));
    const path = join(dir, "vectors.wnvec");
    await ExactVectorIndex.build(entries, { embedder: { type: "openai", model: "m" } }).save(path);
    const loaded = await ExactVectorIndex.load(path);
    expect(loaded.size).toBe(500);
    expect(loaded.embedder).toEqual({ type: "openai", model: "m" });
    const q = entries[7].vector;
    expect(loaded.search(q, 3)).toEqual(index.search(q, 3));
    expect(loaded.search(q, 1)[0]).toMatchObject({ index: 7 });
    // truncated file → INDEX_CORRUPT, not garbage results
    const full = readFileSync(path);
    writeFileSync(path, full.subarray(0, full.length - 8));
    await expect(ExactVectorIndex.load(path)).rejects.toThrow(/bytes of vectors, expected/);
    await expect(ExactVectorIndex.load(join(dir, "missing"))).rejects.toThrow(/no such file/);
  });

  it("rejects mismatched dimensions and duplicate ids, naming the row", () => {
    expect(() => ExactVectorIndex.build([{ id: "a", vector: [1, 0] }, { id: "b", vector: [1] }])).toThrow(/vectors\[1\] \("b"\) has dimension 1; expected 2/);
    expect(() => ExactVectorIndex.build([{ id: "a", vector: [1] }, { id: "a", vector: [2] }])).toThrow(/"a" appears twice/);
    expect(() => index.search(new Float32Array(3), 5)).toThrow(/dimension 3; the index has 16/);
  });
});

describe("HnswVectorIndex", () => {
  it("finds nearly all of the exact top 10, honours filters, and persists", async () => {
    const entries = randomVectors(2000, 32, 3);
    const exact = ExactVectorIndex.build(entries);
    const ann = HnswVectorIndex.build(exact, { efSearch: 64 });
    let found = 0;
    const queries = randomVectors(30, 32, 77);
    for (const { vector } of queries) {
      const truth = new Set(exact.search(vector, 10).map((h) => h.index));
      found += ann.search(vector, 10).filter((h) => truth.has(h.index)).length;
    }
    expect(found / (queries.length * 10)).toBeGreaterThan(0.9);
    const filtered = ann.search(queries[0].vector, 5, (i) => i < 100);
    expect(filtered.every((h) => h.index < 100)).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), "winnow-hnsw-"));
    await ann.save(join(dir, "g.hnsw"));
    const back = await HnswVectorIndex.load(join(dir, "g.hnsw"), exact);
    expect(back.search(queries[1].vector, 5)).toEqual(ann.search(queries[1].vector, 5));
    const smaller = ExactVectorIndex.build(entries.slice(0, 10));
    await expect(HnswVectorIndex.load(join(dir, "g.hnsw"), smaller)).rejects.toThrow(/holds 2000 vectors, the vector file 10/);
  });
});

describe("readVectors (bring your own)", () => {
  const dir = mkdtempSync(join(tmpdir(), "winnow-byo-"));
  it("reads JSONL {id, vector}", async () => {
    const file = join(dir, "v.jsonl");
    writeFileSync(file, '{"id":"a","vector":[1,2]}\n{"id":7,"vector":[3,4]}\n');
    const v = await readVectors(file);
    expect(v.map((x) => [x.id, Array.from(x.vector)])).toEqual([["a", [1, 2]], ["7", [3, 4]]]);
    writeFileSync(file, '{"id":"a","vector":"oops"}\n');
    await expect(readVectors(file)).rejects.toThrow(/v\.jsonl:1: expected/);
  });

  it("reads a float32 .npy matrix with an ids file", async () => {
    const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    const padded = header + " ".repeat(64 - ((10 + header.length + 1) % 64)) + "\n";
    const pre = Buffer.alloc(10);
    pre.writeUInt8(0x93, 0);
    pre.write("NUMPY", 1, "latin1");
    pre.writeUInt8(1, 6);
    pre.writeUInt8(0, 7);
    pre.writeUInt16LE(padded.length, 8);
    const body = Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
    writeFileSync(join(dir, "m.npy"), Buffer.concat([pre, Buffer.from(padded, "latin1"), body]));
    writeFileSync(join(dir, "ids.txt"), "x\ny\n");
    const v = await readVectors(join(dir, "m.npy"), { idsFile: join(dir, "ids.txt") });
    expect(v.map((x) => [x.id, Array.from(x.vector)])).toEqual([["x", [1, 2, 3]], ["y", [4, 5, 6]]]);
  });

  it("reads raw .f32 with --dim and checks the row count", async () => {
    writeFileSync(join(dir, "m.f32"), Buffer.from(new Float32Array([1, 2, 3, 4]).buffer));
    writeFileSync(join(dir, "ids2.txt"), "p\nq\n");
    const v = await readVectors(join(dir, "m.f32"), { idsFile: join(dir, "ids2.txt"), dim: 2 });
    expect(v.map((x) => Array.from(x.vector))).toEqual([[1, 2], [3, 4]]);
    await expect(readVectors(join(dir, "m.f32"), { idsFile: join(dir, "ids2.txt"), dim: 3 })).rejects.toThrow(/not a whole number of 3-dimensional/);
    await expect(readVectors(join(dir, "m.f32"), { idsFile: join(dir, "ids2.txt") })).rejects.toThrow(/--dim/);
  });
});
