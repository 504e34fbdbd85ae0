import { describe, expect, it } from "vitest";
import { rerankerSpecFromFlags, rerankerSpecsFromFlags } from "../../src/cli/reranker-options.js";

describe("--instruction", () => {
  it("binds to the spec's instruction, and is refused with several --reranker values (which one it meant would be a guess)", () => {
    expect(rerankerSpecFromFlags({ reranker: "cross-encoder", model: "m", instruction: "Prefer reviews" })).toMatchObject({ type: "cross-encoder", model: "m", instruction: "Prefer reviews" });
    expect(rerankerSpecsFromFlags(["llm"], { baseUrl: "http://x", model: "m", instruction: "Be strict" })[0]).toMatchObject({ type: "llm", instruction: "Be strict" });
    expect(() => rerankerSpecsFromFlags(["learned", "cross-encoder"], { model: "m", instruction: "Be strict" })).toThrow(/--instruction cannot be bound to one of several --reranker values/);
  });
});
