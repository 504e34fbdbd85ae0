import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { Candidate } from "../../src/core/types.js";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { loadPipeline } from "../../src/pipeline/pipeline-config.js";
import { registerReranker, type RerankerContext } from "../../src/rerankers/registry.js";
import { checkRetrieverSpec, createRetriever, registerRetriever, retrieverTypes, type RetrieverContext } from "../../src/retrieval/registry.js";
import { caught } from "../support/caught.js";
import { repoPaths } from "../support/shared-datasets.js";

const mini = join(repoPaths.root, "examples/scifact-mini");
const docs = [
  { id: "a", text: "the moon's gravity pulls the oceans and causes tides" },
  { id: "b", text: "tidal pools host anemones and crabs", title: "Tide pools" },
  { id: "c", text: "stock markets fell sharply on monday" },
];

describe("retriever registry", () => {
  it("lists the built-in first stages with their descriptions", () => {
    const types = retrieverTypes();
    for (const t of ["bm25", "dense", "hybrid", "memory"]) expect(types.map((x) => x.type)).toContain(t);
    expect(types.every((t) => t.description.length > 0)).toBe(true);
  });

  it("an unknown type (including Object.prototype names) is CONFIG_INVALID on `type`, listing the known ones", async () => {
    for (const type of ["nope", "toString", "__proto__"]) {
      const err = await caught(createRetriever({ type }));
      expect(err).toMatchObject({ code: "CONFIG_INVALID", details: { field: "type" } });
      expect(err.message).toMatch(/known: bm25, bm25-rm3, colbert, dense, elasticsearch, hybrid, memory, opensearch, postgres/);
    }
    expect(() => checkRetrieverSpec({} as never)).toThrow(/needs a string `type`/);
  });

  it("each row's schema names the bad field: a bad value, an unknown option, a nested spec's field", () => {
    const field = (spec: Record<string, unknown>) => {
      try {
        checkRetrieverSpec(spec as never);
      } catch (err) {
        return [(err as { details: { field: string } }).details.field, (err as Error).message];
      }
      return undefined;
    };
    expect(field({ type: "bm25", k1: -1 })).toEqual(["k1", expect.stringMatching(/^bm25 retriever: k1: /)]);
    expect(field({ type: "bm25", indx: "x" })).toEqual(["indx", 'bm25 retriever: indx: unknown option "indx"']);
    expect(field({ type: "dense", pooling: "max" })?.[0]).toBe("pooling");
    expect(field({ type: "memory", documents: [] })?.[0]).toBe("documents");
    expect(field({ type: "memory", documents: [{ id: "x" }] })?.[0]).toBe("documents[0].text");
    expect(field({ type: "hybrid", retrievers: [{ type: "bm25" }] })?.[0]).toBe("retrievers");
    expect(field({ type: "hybrid", model: "m", retrievers: [{ type: "bm25" }, { type: "memory", documents: docs }] })?.[0]).toBe("model");
    expect(field({ type: "hybrid", retrievers: [{ type: "bm25" }, { type: "dense", batchSize: 0 }] })?.[0]).toBe("retrievers[1].batchSize");
    expect(field({ type: "hybrid", retrievers: [{ type: "bm25" }, { type: "nope" }] })?.[0]).toBe("retrievers[1].type");
    // Defaults come back filled in.
    expect(checkRetrieverSpec({ type: "hybrid", model: "m" })).toMatchObject({ rrfK: 60 });
  });

  it("memory: BM25 over inline documents, with a duplicate id refused by name", async () => {
    const r = await createRetriever({ type: "memory", documents: docs });
    const hits = await r.search("what causes tides", 2);
    expect(hits[0].document.id).toBe("a");
    expect(r.describe?.()).toMatchObject({ type: "memory", documents: 3 });
    const dup = await caught(createRetriever({ type: "memory", documents: [docs[0], docs[0]] }));
    expect(dup).toMatchObject({ code: "CONFIG_INVALID", details: { field: "documents[1].id" } });
  });

  it("bm25: built from the context's dataset once per context, shared by the retrievers created with it, and offered to rerankers", async () => {
    const context: RetrieverContext = { dataset: mini };
    const a = await createRetriever({ type: "bm25" }, context);
    const b = await createRetriever({ type: "bm25" }, context);
    expect(a.corpusIndex).toBeDefined();
    expect(b.corpusIndex).toBe(a.corpusIndex);
    expect(a.describe?.()).toMatchObject({ type: "bm25", k1: 0.9, b: 0.4, documents: 683 });
    const other = await createRetriever({ type: "bm25" }, { dataset: mini });
    expect(other.corpusIndex).not.toBe(a.corpusIndex);
    // k1 differs: a different index, and different scores.
    const k1 = await createRetriever({ type: "bm25", k1: 2 }, context);
    const [x] = await a.search("stem cells", 1);
    const [y] = await k1.search("stem cells", 1);
    expect(y.score).not.toBe(x.score);
    const none = await caught(createRetriever({ type: "bm25" }, {}));
    expect(none).toMatchObject({ code: "CONFIG_INVALID", details: { field: "index" } });
    expect(none.message).toMatch(/winnow index/);
  });

  it("dense without stored vectors or a model names `model`; without a corpus names `dataset`", async () => {
    expect(await caught(createRetriever({ type: "dense" }, { dataset: mini }))).toMatchObject({ details: { field: "model" } });
    expect(await caught(createRetriever({ type: "dense", model: "/nonexistent-model" }, {}))).toMatchObject({ details: { field: "dataset" } });
  });

  it("a registered first stage gets its options checked by its own schema and the caller's context", async () => {
    let seen: RetrieverContext | undefined;
    registerRetriever(
      "test-fixed",
      async (spec, context) => {
        seen = context;
        const ids = spec.ids as string[];
        return {
          name: "test-fixed",
          search: async (_q, k) => ids.slice(0, k).map((id, i): Candidate => ({ document: { id, text: id }, score: ids.length - i, rank: i + 1 })),
        };
      },
      "fixed ids, for tests",
      z.strictObject({ type: z.literal("test-fixed"), ids: z.array(z.string()).min(1) }),
    );
    expect(retrieverTypes().find((t) => t.type === "test-fixed")?.description).toBe("fixed ids, for tests");
    expect(await caught(createRetriever({ type: "test-fixed", ids: [] }))).toMatchObject({ code: "CONFIG_INVALID", details: { field: "ids" } });
    const r = await createRetriever({ type: "test-fixed", ids: ["x", "y"] }, { baseDir: "/b" });
    expect((await r.search("q", 1)).map((c) => c.document.id)).toEqual(["x"]);
    expect(seen?.baseDir).toBe("/b");
  });

  it("factories load lazily: BM25 search never loads ONNX Runtime, dense does", async () => {
    const model = await ensureGeneratedModel("tiny-bi-encoder");
    const dir = mkdtempSync(join(tmpdir(), "winnow-lazy-"));
    const probe = (spec: object) => {
      const script = join(dir, `probe-${Math.random().toString(36).slice(2)}.mts`);
      writeFileSync(
        script,
        `import { createRequire } from "node:module";
import { createRetriever } from ${JSON.stringify(join(repoPaths.root, "src/retrieval/registry.ts"))};
const r = await createRetriever(${JSON.stringify(spec)}, { dataset: ${JSON.stringify(mini)} }).catch((e) => ({ error: e.message }));
const loaded = Object.keys(createRequire(import.meta.url).cache).some((p) => p.includes("/node_modules/onnxruntime-node/"));
process.stdout.write(JSON.stringify({ loaded, error: (r as { error?: string }).error }));`,
      );
      const out = spawnSync(process.execPath, ["--import", "tsx", script], { cwd: repoPaths.root, encoding: "utf8" });
      expect(out.status, out.stderr).toBe(0);
      return JSON.parse(out.stdout) as { loaded: boolean; error?: string };
    };
    expect(probe({ type: "bm25" })).toEqual({ loaded: false });
    // The control: a dense spec loads it, so the check above can fail.
    writeFileSync(join(dir, "corpus.jsonl"), docs.map((d) => JSON.stringify({ _id: d.id, text: d.text })).join("\n") + "\n");
    expect(probe({ type: "dense", model, cache: false, dataset: dir })).toEqual({ loaded: true });
  });

  it("a dense first stage offers its vectors, and a pipeline hands them (and the folder) to its rerankers' context", async () => {
    const model = await ensureGeneratedModel("tiny-bi-encoder");
    const dir = mkdtempSync(join(tmpdir(), "winnow-vectors-"));
    writeFileSync(join(dir, "corpus.jsonl"), docs.map((d) => JSON.stringify({ _id: d.id, text: d.text, title: d.title })).join("\n") + "\n");
    let seen: RerankerContext | undefined;
    registerReranker("test-sees-context", async (_spec, context) => {
      seen = context;
      return { name: "test-sees-context", rerank: async (_q, candidates) => candidates.map((_, index) => ({ index, id: String(index), score: -index })) };
    });
    const file = join(dir, "dense.yaml");
    writeFileSync(file, ["retrievers:", `  - { type: dense, model: ${JSON.stringify(model)}, dataset: ., cache: false, k: 3 }`, "stages:", "  - { reranker: { type: test-sees-context }, topK: 3 }", ""].join("\n"));
    const pipeline = await loadPipeline(file, { warmup: false });
    expect(seen?.baseDir).toBe(dir);
    expect(seen?.vectors).toMatchObject({ size: 3, dim: 128 });
    expect([0, 1, 2].map((i) => seen!.vectors!.id(i)).sort()).toEqual(["a", "b", "c"]);
    expect(seen?.vectors?.vector(0)).toHaveLength(128);
    // Embedded on the fly from a dataset: no BM25 index to offer.
    expect(seen?.index).toBeUndefined();
    expect((await pipeline.search("what causes tides")).results).toHaveLength(3);
    await pipeline.close();
  });

  it("a pipeline config names the pool whose retriever it cannot open, and its field", async () => {
    const dir = mkdtempSync(join(tmpdir(), "winnow-pool-error-"));
    const file = join(dir, "p.yaml");
    writeFileSync(file, ["retrievers:", "  - { type: memory, documents: [{ id: a, text: tides }] }", "  - { type: bm25, k: 5 }", ""].join("\n"));
    const err = await caught(loadPipeline(file, { warmup: false }));
    expect(err).toMatchObject({ code: "CONFIG_INVALID", details: { field: "retrievers[1].index" } });
    expect(err.message).toMatch(/^retrievers\[1\]\.index: bm25 retriever: index: no index to search/);
    // Checked when the file is read, before anything opens: the row's schema.
    writeFileSync(file, ["retrievers:", "  - { type: bm25, index: ./i, k1: -2 }", ""].join("\n"));
    expect((await caught(loadPipeline(file, { warmup: false }))).message).toMatch(/p\.yaml: invalid pipeline config: retrievers\[0\]\.k1: Too small/);
  });
});
