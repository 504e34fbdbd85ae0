import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureGeneratedModel } from "../../../src/onnx/generate.js";
import { createReranker } from "../../../src/rerankers/registry.js";
import { ColbertEncoder } from "../../../src/rerankers/colbert/colbert-encoder.js";
import { ColbertReranker } from "../../../src/rerankers/colbert/colbert-reranker.js";
import { maxSim, maxSimReference } from "../../../src/rerankers/colbert/maxsim.js";
import { SeededRandom } from "../../../src/core/seeded-random.js";
import { caught } from "../../support/caught.js";

const DOCS = [
  { id: "a", text: "A history of the printing press, from Gutenberg to offset." },
  { id: "b", text: "Solar panel output rises in cold climates because efficiency improves at low temperature." },
  { id: "c", text: "Wind turbines in cold climates need de-icing!" },
  { id: "d", text: "Efficiency of solar cells in cold weather: a review." },
];

let dir = "";
let tmp = "";
let encoder: ColbertEncoder;

beforeAll(async () => {
  dir = await ensureGeneratedModel("tiny-colbert");
  tmp = await mkdtemp(join(tmpdir(), "winnow-colbert-"));
  encoder = await ColbertEncoder.load({ model: dir, threads: 1 });
});
afterAll(async () => {
  await encoder?.close();
  await rm(tmp, { recursive: true, force: true });
});

describe("ColBERT recipe", () => {
  it("queries are [CLS] [Q] … [SEP] then [MASK] to the query length, all attended", () => {
    const t = encoder.tokenizer;
    const q = t.query("solar panels");
    expect(q.ids.length).toBe(32);
    expect(q.ids[0]).toBe(101); // [CLS]
    expect(q.ids[1]).toBe(1); // [unused0]
    const sep = Array.from(q.ids).indexOf(102);
    expect(sep).toBeGreaterThan(2);
    expect(Array.from(q.ids.slice(sep + 1)).every((id) => id === 103)).toBe(true); // [MASK]
    expect(Array.from(q.attention).every((a) => a === 1)).toBe(true); // attend_to_mask_tokens: true in the generated metadata
  });

  it("documents are [CLS] [D] … [SEP], unpadded, punctuation kept in the input", () => {
    const d = encoder.tokenizer.document("de-icing!");
    expect(d.ids[0]).toBe(101);
    expect(d.ids[1]).toBe(2); // [unused1]
    expect(d.ids.at(-1)).toBe(102);
    const bang = encoder.tokenizer.tokenize("!")[0];
    expect(Array.from(d.ids)).toContain(bang);
    expect(encoder.tokenizer.skiplist.has(bang)).toBe(true);
  });

  it("document vectors leave skiplisted tokens out, and every vector is unit length", async () => {
    const text = "de-icing! (cold)";
    const [m] = await encoder.encodeDocuments([text]);
    const input = encoder.tokenizer.document(text);
    const punct = Array.from(input.ids).filter((id) => encoder.tokenizer.skiplist.has(id)).length;
    expect(punct).toBeGreaterThan(0);
    expect(m.rows).toBe(input.ids.length - punct);
    for (let r = 0; r < m.rows; r++) {
      let s = 0;
      for (let j = 0; j < m.dims; j++) s += m.data[r * m.dims + j] ** 2;
      expect(Math.sqrt(s)).toBeCloseTo(1, 5);
    }
  });

  it("the blocked MaxSim kernel equals the plain one", () => {
    const rng = new SeededRandom(3);
    for (const [nq, nd, d] of [[32, 7, 32], [5, 1, 96], [3, 200, 128], [32, 0, 16]]) {
      const q = { rows: nq, dims: d, data: rng.fill(nq * d, 1) };
      const doc = { rows: nd, dims: d, data: rng.fill(nd * d, 1) };
      expect(maxSim(q, doc.data, nd)).toBeCloseTo(maxSimReference(q, doc), 3);
    }
  });
});

describe("colbert reranker", () => {
  it("ranks through the registry with the shared result shape and topN", async () => {
    const r = await createReranker({ type: "colbert", model: dir, threads: 1 });
    try {
      const results = await r.rerank("solar panel efficiency in cold climates", DOCS, { topN: 3 });
      expect(results).toHaveLength(3);
      const all = await r.rerank("solar panel efficiency in cold climates", DOCS);
      expect(all.map((x) => x.index).sort()).toEqual([0, 1, 2, 3]);
      for (let i = 1; i < all.length; i++) expect(all[i - 1].score).toBeGreaterThanOrEqual(all[i].score);
      expect(results.map((x) => x.id)).toEqual(all.slice(0, 3).map((x) => x.id));
      // Scores are MaxSim: the query encoding against each document's, recomputed here.
      const q = await encoder.encodeQuery("solar panel efficiency in cold climates");
      const docs = await encoder.encodeDocuments(DOCS.map((d) => d.text));
      for (const x of all) expect(x.score).toBeCloseTo(maxSim(q, docs[x.index].data, docs[x.index].rows), 4);
    } finally {
      await r.close();
    }
  });

  it("refuses a folder that is not ColBERT: a bi-encoder (no projection) and wrong dims, naming the file", async () => {
    const bi = await ensureGeneratedModel("tiny-bi-encoder");
    const noSettings = await caught(ColbertEncoder.load({ model: bi }));
    expect(noSettings.code).toBe("MODEL_LOAD_FAILED");
    expect(noSettings.message).toMatch(/not a ColBERT model folder: no artifact\.metadata/);
    // The bi-encoder with ColBERT settings beside it: its graph outputs hidden states.
    const fake = join(tmp, "bi-as-colbert");
    await cp(bi, fake, { recursive: true });
    await cp(join(dir, "artifact.metadata"), join(fake, "artifact.metadata"));
    const noProjection = await caught(ColbertEncoder.load({ model: fake }));
    expect(noProjection.message).toMatch(/model\.onnx: it outputs hidden states \(128 = hidden_size\): no ColBERT projection/);
    const wrongDims = join(tmp, "wrong-dims");
    await cp(dir, wrongDims, { recursive: true });
    const meta = JSON.parse(await readFile(join(wrongDims, "artifact.metadata"), "utf8"));
    await writeFile(join(wrongDims, "artifact.metadata"), JSON.stringify({ ...meta, dim: 64 }));
    const dims = await caught(ColbertEncoder.load({ model: wrongDims }));
    expect(dims.message).toMatch(/outputs 32-dim token vectors, but .*artifact\.metadata says dim 64/);
    expect(dims.message.split("\n")).toHaveLength(1);
  });

  it("int8: the quantized graph ranks like fp32", async () => {
    const fp32 = await ColbertReranker.load({ model: dir, threads: 1 });
    const int8 = await ColbertReranker.load({ model: dir, dtype: "int8", threads: 1 });
    try {
      expect(int8.encoder.onnxFile).toBe("onnx/model_quantized.onnx");
      const a = await fp32.rerank("cold climates solar", DOCS);
      const b = await int8.rerank("cold climates solar", DOCS);
      for (const x of a) expect(b.find((y) => y.index === x.index)!.score).toBeCloseTo(x.score, 0);
    } finally {
      await fp32.close();
      await int8.close();
    }
  });

  it("unknown spec options are refused by name", async () => {
    const err = await caught(createReranker({ type: "colbert", model: dir, querylength: 32 }));
    expect(err.code).toBe("CONFIG_INVALID");
    expect(err.message).toMatch(/querylength/);
  });
});
