import { describe, expect, it } from "vitest";
import { CROSS_ENCODER_CATALOGUE, catalogueEntry } from "../../../src/rerankers/cross-encoder/catalogue.js";
import { DECODER_TEMPLATES } from "../../../src/rerankers/decoder/decoder-template.js";

describe("catalogue rows for the newer rerankers", () => {
  const ids = [
    "Alibaba-NLP/gte-reranker-modernbert-base",
    "jinaai/jina-reranker-v2-base-multilingual",
    "Alibaba-NLP/gte-multilingual-reranker-base",
    "BAAI/bge-reranker-v2-m3",
    "Qwen/Qwen3-Reranker-0.6B",
    "mixedbread-ai/mxbai-rerank-base-v2",
  ];
  it("each has architecture, parameters, max length, licence, languages, files per dtype, and published figures labelled as such", () => {
    for (const id of ids) {
      const e = catalogueEntry(id);
      expect(e, id).toBeDefined();
      expect(e!.licence, id).toMatch(/\S/);
      expect(e!.languages, id).toMatch(/\S/);
      expect(e!.published, id).toMatch(/model card/);
      expect(e!.onnxFiles.fp32, id).toMatch(/\.onnx$/);
      expect(e!.maxLength).toBeGreaterThanOrEqual(512);
    }
    expect(catalogueEntry("BAAI/bge-reranker-v2-m3")!.onnxFiles.int8).toBeDefined();
    expect(catalogueEntry("Qwen/Qwen3-Reranker-0.6B")!.otherFiles?.q4).toMatch(/q4/);
  });

  it("every decoder row names a template Winnow has; no encoder row has one", () => {
    for (const e of CROSS_ENCODER_CATALOGUE) {
      if (e.kind === "decoder") expect(Object.keys(DECODER_TEMPLATES)).toContain(e.template);
      else expect(e.template).toBeUndefined();
    }
    expect(catalogueEntry("Qwen/Qwen3-Reranker-0.6B")!.template).toBe("qwen3-reranker");
    expect(catalogueEntry("mixedbread-ai/mxbai-rerank-base-v2")!.template).toBe("mxbai-rerank-v2");
  });
});
