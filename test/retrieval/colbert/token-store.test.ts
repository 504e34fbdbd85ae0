import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Document } from "../../../src/core/types.js";
import { ensureGeneratedModel } from "../../../src/onnx/generate.js";
import { ColbertEncoder } from "../../../src/rerankers/colbert/colbert-encoder.js";
import { ColbertReranker } from "../../../src/rerankers/colbert/colbert-reranker.js";
import type { TokenMatrix } from "../../../src/rerankers/colbert/token-matrix.js";
import { buildTokenStore } from "../../../src/retrieval/colbert/build-token-store.js";
import { halfTable, toHalf } from "../../../src/retrieval/colbert/half-float.js";
import { residualBytesPerToken } from "../../../src/retrieval/colbert/residual-codec.js";
import { measureStoreFidelity } from "../../../src/retrieval/colbert/store-fidelity.js";
import { poolTokens } from "../../../src/retrieval/colbert/token-pooling.js";
import { TokenStore } from "../../../src/retrieval/colbert/token-store.js";
import { caught } from "../../support/caught.js";

const root = join(import.meta.dirname, "../../..");
const lines = (f: string) => readFileSync(join(root, "examples/scifact-mini", f), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, string>);
const DOCS: Document[] = lines("corpus.jsonl").slice(0, 48).map((d) => ({ id: d._id, title: d.title, text: d.text }));
const QUERIES = lines("queries.jsonl").slice(0, 8).map((q) => q.text);
const corpus = { size: DOCS.length, document: (i: number) => DOCS[i] };

let tmp = "";
let modelDir = "";
let encoder: ColbertEncoder;
let exact: TokenMatrix[];
let queries: TokenMatrix[];
const all = QUERIES.map(() => DOCS.map((_, i) => i));

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "winnow-colbert-store-"));
  modelDir = await ensureGeneratedModel("tiny-colbert");
  encoder = await ColbertEncoder.load({ model: modelDir, threads: 1 });
  exact = await encoder.encodeDocuments(DOCS.map((d) => `${d.title} ${d.text}`));
  queries = await Promise.all(QUERIES.map((q) => encoder.encodeQuery(q)));
}, 120_000);
afterAll(async () => {
  await encoder?.close();
  await rm(tmp, { recursive: true, force: true });
});

async function build(name: string, compression: "fp16" | "fp32" | "residual-2bit" | "residual-1bit", pooling = 1): Promise<TokenStore> {
  const dir = join(tmp, name);
  await buildTokenStore({ indexDir: dir, encoder, documents: corpus, compression, pooling, centroids: 256, sampleTokens: 4096 });
  return TokenStore.open(dir);
}

describe("half floats", () => {
  it("round-trip within half precision, including subnormals, and exact for representable values", () => {
    const table = halfTable();
    for (const v of [0, 1, -1, 0.5, 65504, 2 ** -24, -(2 ** -14)]) expect(table[toHalf(v)]).toBe(v);
    for (const v of [0.1234567, -0.987654, 3.3e-6, 0.000061]) expect(Math.abs(table[toHalf(v)] - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 2 ** -25);
  });
});

describe("token-vector store", () => {
  it("fp32 stores vectors exactly; fp16 to half precision; the manifest records bytesPerToken, dims, compression, model", async () => {
    const s32 = await build("fp32", "fp32");
    const s16 = await build("fp16", "fp16");
    try {
      for (const i of [0, 17, 47]) {
        expect(Array.from(s32.vectorsAt(i).data)).toEqual(Array.from(exact[i].data));
        const h = s16.vectorsAt(i).data;
        h.forEach((v, k) => expect(Math.abs(v - exact[i].data[k])).toBeLessThan(1e-3));
      }
      const m = JSON.parse(await readFile(join(tmp, "fp16", "colbert", "manifest.json"), "utf8"));
      expect(m).toMatchObject({ dims: 32, bytesPerToken: 64, compression: { kind: "fp16" }, documents: 48, model: { identity: encoder.identity, dims: 32 } });
      expect(m.tokens).toBe(exact.reduce((n, x) => n + x.rows, 0));
      expect(measureStoreFidelity(s16, exact, queries, all).kendallTau).toBeGreaterThan(0.99);
    } finally {
      s32.close();
      s16.close();
    }
  });

  it("residual compression: 2 + dims·bits/8 bytes per token (34 at 128 dims, 2-bit), and ranks close to exact", async () => {
    expect(residualBytesPerToken(128, 2)).toBe(34);
    expect(residualBytesPerToken(128, 1)).toBe(18);
    const two = await build("r2", "residual-2bit");
    const one = await build("r1", "residual-1bit");
    try {
      expect(two.manifest.bytesPerToken).toBe(2 + 8);
      const f2 = measureStoreFidelity(two, exact, queries, all);
      const f1 = measureStoreFidelity(one, exact, queries, all);
      // 2 bits are more faithful than 1; both keep most pairwise orders (τ 0 would be random).
      expect(f2.meanAbsError).toBeLessThan(f1.meanAbsError);
      expect(f2.kendallTau).toBeGreaterThan(0.7);
      expect(f1.kendallTau).toBeGreaterThan(0.5);
    } finally {
      two.close();
      one.close();
    }
  });

  it("token pooling merges similar tokens into about 1/factor of them", async () => {
    const pooled = poolTokens(exact[3], 2);
    expect(pooled.rows).toBe(Math.ceil(exact[3].rows / 2));
    const store = await build("pool2", "fp16", 2);
    try {
      expect(store.manifest.compression).toMatchObject({ kind: "fp16", pooling: 2 });
      expect(store.manifest.tokens).toBeLessThanOrEqual(Math.ceil(exact.reduce((n, x) => n + x.rows, 0) / 2) + DOCS.length);
      expect(measureStoreFidelity(store, exact, queries, all).kendallTau).toBeGreaterThan(0.6);
    } finally {
      store.close();
    }
  });

  it("the reranker reads stored vectors: no document forward pass, same scores as fp32 encoding", async () => {
    const store = await build("for-rerank", "fp32");
    const reranker = await ColbertReranker.load({ model: modelDir, threads: 1, store });
    try {
      const runs = reranker.encoder.stats.documents;
      const out = await reranker.rerank(QUERIES[0], DOCS.slice(0, 20));
      expect(reranker.encoder.stats.documents).toBe(runs);
      for (const r of out) expect(r.details).toMatchObject({ stored: true });
      const fresh = await ColbertReranker.load({ model: modelDir, threads: 1 });
      const ref = await fresh.rerank(QUERIES[0], DOCS.slice(0, 20));
      expect(out.map((r) => r.index)).toEqual(ref.map((r) => r.index));
      await fresh.close();
      // An edited document is not served stale: encoded, with a warning.
      const warnings: string[] = [];
      const edited = [{ ...DOCS[0], text: "an edited abstract" }, DOCS[1]];
      const res = await reranker.rerank(QUERIES[0], edited, { onWarnings: (w) => warnings.push(...w) });
      expect(res.find((r) => r.index === 0)!.details).toMatchObject({ stored: false });
      expect(warnings.join()).toMatch(/1 of 2 candidates were not in the store/);
    } finally {
      await reranker.close();
    }
  });

  it("refuses a store built with another model, a truncated store and an edited manifest, naming the file", async () => {
    await build("checked", "fp16");
    const other = await ensureGeneratedModel("tiny-colbert", { seed: 7 });
    const err = await caught(ColbertReranker.load({ model: other, store: await TokenStore.open(join(tmp, "checked")) }));
    expect(err.code).toBe("CONFIG_INVALID");
    expect(err.message).toMatch(/checked\/colbert: token vectors were stored with .* not .*tiny-colbert-seed7/);
    const vectors = join(tmp, "checked", "colbert", "vectors.bin");
    const manifestPath = join(tmp, "checked", "colbert", "manifest.json");
    const manifest = await readFile(manifestPath, "utf8");
    await writeFile(manifestPath, manifest.replace('"dims": 32', '"dims": 64'));
    expect((await caught(TokenStore.open(join(tmp, "checked")))).message).toMatch(/manifest\.json: does not match its checksum/);
    await writeFile(manifestPath, manifest);
    await truncate(vectors, 1000);
    const cut = await caught(TokenStore.open(join(tmp, "checked")));
    expect(cut.code).toBe("INDEX_CORRUPT");
    expect(cut.message).toMatch(/vectors\.bin: is 1000 bytes, the manifest says \d+ \(truncated or damaged\)/);
    expect(cut.message.split("\n")).toHaveLength(1);
  });
});
