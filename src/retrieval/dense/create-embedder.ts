import { WinnowError } from "../../core/errors.js";
import type { Embedder, EmbedderSpec } from "./embedder.js";
import { OpenAIEmbedder, type OpenAIEmbedderOptions } from "./openai-embedder.js";

/** An embedder from data (config file, CLI flags, or the spec `winnow embed` stored with the vectors). */
export async function createEmbedder(spec: EmbedderSpec): Promise<Embedder> {
  if (spec === null || typeof spec !== "object") {
    throw new WinnowError("CONFIG_INVALID", "embedder spec must be an object with a `type`", { details: { field: "embedder" } });
  }
  switch (spec.type) {
    case "openai": {
      const { type: _t, ...options } = spec;
      return new OpenAIEmbedder(options as unknown as OpenAIEmbedderOptions);
    }
    case "onnx": {
      const { OnnxEmbedder } = await import("./onnx-embedder.js");
      const { type: _t, ...options } = spec;
      return OnnxEmbedder.load(options as unknown as import("./onnx-embedder.js").OnnxEmbedderOptions);
    }
    default:
      throw new WinnowError("CONFIG_INVALID", `embedder.type must be "onnx" or "openai", got ${JSON.stringify(spec.type)}`, { details: { field: "embedder.type" } });
  }
}
