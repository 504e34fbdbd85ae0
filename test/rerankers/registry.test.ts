import { describe, expect, it } from "vitest";
import { createReranker, registerReranker, rerankerTypes } from "../../src/rerankers/registry.js";
import type { Reranker } from "../../src/core/types.js";

describe("reranker registry", () => {
  it("lists the built-in families", () => {
    const types = rerankerTypes().map((t) => t.type);
    for (const t of ["cross-encoder", "learned", "cohere", "jina", "voyage", "mixedbread", "tei", "infinity", "llm"]) expect(types).toContain(t);
  });

  it("rejects unknown types, including Object.prototype names, with CONFIG_INVALID naming the field", async () => {
    for (const type of ["nope", "toString", "constructor", "__proto__"]) {
      await expect(createReranker({ type })).rejects.toMatchObject({ code: "CONFIG_INVALID", details: { field: "type" } });
    }
    await expect(createReranker({} as never)).rejects.toMatchObject({ code: "CONFIG_INVALID" });
  });

  it("creates a registered custom family from its spec", async () => {
    const fake: Reranker = { name: "fake", rerank: async () => [] };
    registerReranker("fake-family", async (spec) => ({ ...fake, name: String(spec.label) }), "test family");
    const r = await createReranker({ type: "fake-family", label: "x" });
    expect(r.name).toBe("x");
    expect(rerankerTypes().find((t) => t.type === "fake-family")?.description).toBe("test family");
  });
});
