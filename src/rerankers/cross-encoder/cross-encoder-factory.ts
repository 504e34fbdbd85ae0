import { z } from "zod";
import { WinnowError } from "../../core/errors.js";
import type { Reranker } from "../../core/types.js";
import type { RerankerContext, RerankerSpec } from "../../core/reranker-spec.js";
import { CrossEncoderReranker, type CrossEncoderOptions } from "./cross-encoder-reranker.js";

const positiveInt = z.number().int().positive();

/** The cross-encoder options a spec (CLI flags, config file) may carry; unknown keys are errors so typos surface. */
const specSchema = z.strictObject({
  type: z.literal("cross-encoder"),
  model: z.string().min(1),
  dtype: z.enum(["fp32", "int8"]).optional(),
  onnxFile: z.string().min(1).optional(),
  revision: z.string().min(1).optional(),
  cacheDir: z.string().min(1).optional(),
  offline: z.boolean().optional(),
  maxLength: positiveInt.optional(),
  maxQueryTokens: positiveInt.optional(),
  batchTokens: positiveInt.optional(),
  threads: positiveInt.optional(),
  executionProvider: z.string().min(1).optional(),
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
  return CrossEncoderReranker.load(options as CrossEncoderOptions);
}
