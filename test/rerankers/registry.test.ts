import { describe, expect, it } from "vitest";
import { calibrationSpec, createReranker, missingRerankerField, registerReranker, rerankerTraits, rerankerTypes, servingSpec } from "../../src/rerankers/registry.js";
import type { RerankerContext } from "../../src/core/reranker-spec.js";
import type { Reranker } from "../../src/core/types.js";
import { readCorpus } from "../../src/eval/readers/beir.js";
import { Bm25Index } from "../../src/retrieval/bm25/bm25-index.js";
import { repoPaths } from "../support/shared-datasets.js";
import { join } from "node:path";

describe("reranker registry", () => {
  it("lists the built-in families", () => {
    const types = rerankerTypes().map((t) => t.type);
    for (const t of ["cross-encoder", "learned", "cohere", "jina", "voyage", "mixedbread", "tei", "infinity", "llm"]) expect(types).toContain(t);
  });

  it("rejects unknown types, including Object.prototype names, with CONFIG_INVALID naming the field and the known types", async () => {
    for (const type of ["nope", "toString", "constructor", "__proto__"]) {
      await expect(createReranker({ type })).rejects.toMatchObject({ code: "CONFIG_INVALID", details: { field: "type" } });
    }
    await expect(createReranker({ type: "nope" })).rejects.toThrow(/known: .*cross-encoder.*learned/);
    await expect(createReranker({} as never)).rejects.toMatchObject({ code: "CONFIG_INVALID" });
  });

  it("creates a registered custom family from its spec, handing it the caller's context", async () => {
    const fake: Reranker = { name: "fake", rerank: async () => [] };
    let seen: RerankerContext | undefined;
    registerReranker("fake-family", async (spec, context) => {
      seen = context;
      return { ...fake, name: String(spec.label) };
    }, "test family");
    const r = await createReranker({ type: "fake-family", label: "x" }, { baseDir: "/somewhere" });
    expect(r.name).toBe("x");
    expect(seen?.baseDir).toBe("/somewhere");
    expect(rerankerTypes().find((t) => t.type === "fake-family")?.description).toBe("test family");
  });

  it("checks a row's required fields before loading the family, naming the field", async () => {
    expect(missingRerankerField({ type: "cross-encoder" })).toMatchObject({ field: "model" });
    expect(missingRerankerField({ type: "cross-encoder", model: "m" })).toBeUndefined();
    expect(missingRerankerField({ type: "learned" })).toBeUndefined();
    await expect(createReranker({ type: "cross-encoder" })).rejects.toMatchObject({ code: "CONFIG_INVALID", details: { field: "model" } });
    registerReranker("needs-url", async () => ({ name: "n", rerank: async () => [] }), "", { requires: [{ field: "baseUrl", hint: "the endpoint" }] });
    await expect(createReranker({ type: "needs-url" })).rejects.toThrow(/needs-url reranker needs `baseUrl`: the endpoint/);
  });

  it("servingSpec applies a row's serving defaults under the spec; calibrationSpec sets the raw-score fields over it", () => {
    expect(servingSpec({ type: "cross-encoder", model: "m" })).toEqual({ type: "cross-encoder", model: "m", spinWait: false });
    expect(servingSpec({ type: "cross-encoder", model: "m", spinWait: true })).toMatchObject({ spinWait: true });
    expect(servingSpec({ type: "learned" })).toEqual({ type: "learned" });
    expect(calibrationSpec({ type: "cross-encoder", model: "m", scores: "normalized" })).toMatchObject({ scores: "logit" });
    expect(calibrationSpec({ type: "llm", model: "m" })).toEqual({ type: "llm", model: "m" });
    expect(rerankerTraits("learned").defaultModel).toMatch(/learned-default/);
    expect(rerankerTraits("no-such-family")).toEqual({});
  });

  it("the learned family reads corpus statistics from context.index when its spec names none", async () => {
    const index = await Bm25Index.build(readCorpus(join(repoPaths.root, "examples/scifact-mini")));
    const withIndex = await createReranker({ type: "learned" }, { index });
    const without = await createReranker({ type: "learned" });
    const candidates = await index.search("vitamin D and bone density", 20);
    const a = await withIndex.rerank("vitamin D and bone density", candidates);
    const b = await without.rerank("vitamin D and bone density", candidates);
    // Corpus-wide document frequencies differ from the candidates' own, so the scores do.
    expect(a.map((r) => r.score)).not.toEqual(b.map((r) => r.score));
    // A context index without BM25 statistics is no demand: the family falls back to candidate statistics.
    const plain = await createReranker({ type: "learned" }, { index: { docIndex: () => undefined, document: () => undefined } });
    expect((await plain.rerank("vitamin D and bone density", candidates)).map((r) => r.score)).toEqual(b.map((r) => r.score));
  });
});
