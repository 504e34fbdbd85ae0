import { z } from "zod";
import { WinnowError } from "../../core/errors.js";
import type { Reranker } from "../../core/types.js";
import type { RerankerContext, RerankerSpec } from "../../core/reranker-spec.js";
import { CrossEncoderReranker, type CrossEncoderOptions } from "./cross-encoder-reranker.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { resolveModelSource } from "../../models/model-source.js";
import { catalogueEntry } from "./catalogue.js";
import { DecoderReranker, type DecoderRerankerOptions } from "../decoder/decoder-reranker.js";
import { isDecoderConfig } from "../decoder/load-decoder.js";

const positiveInt = z.number().int().positive();

/** The cross-encoder options a spec (CLI flags, config file) may carry; unknown keys are errors so typos surface. */
const specSchema = z.strictObject({
  type: z.literal("cross-encoder"),
  model: z.string().min(1),
  dtype: z.enum(["fp32", "int8", "fp16"]).optional(),
  onnxFile: z.string().min(1).optional(),
  revision: z.string().min(1).optional(),
  cacheDir: z.string().min(1).optional(),
  offline: z.boolean().optional(),
  maxLength: positiveInt.optional(),
  maxQueryTokens: positiveInt.optional(),
  batchTokens: positiveInt.optional(),
  threads: positiveInt.optional(),
  executionProvider: z.string().min(1).optional(),
  executionProviders: z.array(z.string().min(1)).min(1).optional(),
  /** Decoder models only: the rerank prompt (qwen3-reranker, mxbai-rerank-v2). */
  template: z.string().min(1).optional(),
  /** Decoder models only: the instruction for calls that give none (default: the template's). */
  instruction: z.string().min(1).optional(),
  /** Decoder models only: the lm_head reads the last position only (default true). */
  lastPositionOnly: z.boolean().optional(),
  memoryArena: z.boolean().optional(),
  spinWait: z.boolean().optional(),
  flashAttention: z.boolean().optional(),
  unsafeInt8: z.enum(["requantize", "fp32", "keep"]).optional(),
  int8CacheDir: z.string().min(1).optional(),
  cache: z.union([z.boolean(), z.strictObject({ maxBytes: positiveInt.optional(), ttlMs: z.number().positive().optional() })]).optional(),
  scores: z.enum(["normalized", "logit", "calibrated"]).optional(),
  calibration: z.union([z.string().min(1), z.strictObject({ kind: z.literal("platt").optional(), a: z.number(), b: z.number() })]).optional(),
  maxChunksPerDoc: positiveInt.optional(),
  windowOverlap: z.number().int().nonnegative().optional(),
  truncate: z.boolean().optional(),
});

/** Registry entry point: validates the spec, loads the model, returns a ready reranker. */
export async function createCrossEncoderReranker(spec: RerankerSpec, _context: RerankerContext = {}): Promise<Reranker> {
  const parsed = specSchema.safeParse(spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.join(".") || (issue.code === "unrecognized_keys" ? issue.keys.join(", ") : "spec");
    throw new WinnowError("CONFIG_INVALID", `cross-encoder option ${field}: ${issue.message}`, { details: { field } });
  }
  const { type: _type, ...options } = parsed.data;
  // A decoder (Qwen3-Reranker-style) is the same family to callers: its row in the registry
  // is this one, and which model class scores is decided by the model's own config.json.
  if (await isDecoderModel(options.model, options)) {
    const foreign = Object.keys(options).filter((k) => !DECODER_OPTIONS.has(k));
    if (foreign.length > 0) {
      throw new WinnowError("CONFIG_INVALID", `cross-encoder option ${foreign[0]}: not available for the decoder model ${options.model} (decoders take ${[...DECODER_OPTIONS].join(", ")})`, { details: { field: foreign[0] } });
    }
    if (options.scores === "calibrated") throw new WinnowError("CONFIG_INVALID", `cross-encoder option scores: "calibrated" is not available for the decoder model ${options.model}`, { details: { field: "scores" } });
    return DecoderReranker.load(options as DecoderRerankerOptions);
  }
  if (options.instruction !== undefined) {
    throw new WinnowError("CONFIG_INVALID", `instruction: the cross-encoder family's model ${options.model} does not read an instruction (decoder models such as Qwen3-Reranker do)`, { details: { field: "instruction" } });
  }
  for (const k of ["template", "lastPositionOnly"] as const) {
    if (options[k] !== undefined) throw new WinnowError("CONFIG_INVALID", `cross-encoder option ${k}: only decoder models (a *ForCausalLM config.json) take it; ${options.model} is not one`, { details: { field: k } });
  }
  return CrossEncoderReranker.load(options as CrossEncoderOptions);
}

const DECODER_OPTIONS = new Set([
  "model", "dtype", "onnxFile", "template", "revision", "cacheDir", "offline", "maxLength", "maxQueryTokens", "batchTokens", "threads",
  "executionProvider", "executionProviders", "memoryArena", "spinWait", "cache", "scores", "maxChunksPerDoc", "windowOverlap", "truncate", "instruction", "lastPositionOnly",
]);

/** Whether `model` is a decoder: by the catalogue, else by its config.json (a local folder, or fetched as the loader would). */
async function isDecoderModel(model: string, options: { revision?: string; cacheDir?: string; offline?: boolean }): Promise<boolean> {
  const entry = catalogueEntry(model);
  if (entry) return entry.kind === "decoder";
  let dir: string;
  try {
    dir = (await resolveModelSource(model, { required: ["config.json"] }, { revision: options.revision, cacheDir: options.cacheDir, offline: options.offline })).dir;
  } catch {
    return false; // the cross-encoder loader reports what is missing, in its words
  }
  try {
    return isDecoderConfig(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as { architectures?: unknown });
  } catch {
    return false;
  }
}
