import { isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { WinnowError } from "../../core/errors.js";
import type { Reranker } from "../../core/types.js";
import type { RerankerContext, RerankerSpec } from "../../core/reranker-spec.js";
import { ColbertReranker, type ColbertOptions } from "./colbert-reranker.js";

const positiveInt = z.number().int().positive();

/** The colbert options a spec may carry; unknown keys are errors so typos surface. */
const specSchema = z.strictObject({
  type: z.literal("colbert"),
  model: z.string().min(1),
  dtype: z.enum(["fp32", "int8"]).optional(),
  onnxFile: z.string().min(1).optional(),
  revision: z.string().min(1).optional(),
  cacheDir: z.string().min(1).optional(),
  offline: z.boolean().optional(),
  queryMaxLength: positiveInt.optional(),
  docMaxLength: positiveInt.optional(),
  batchTokens: positiveInt.optional(),
  threads: positiveInt.optional(),
  spinWait: z.boolean().optional(),
  cache: z.union([z.boolean(), z.strictObject({ maxBytes: positiveInt.optional(), ttlMs: z.number().positive().optional() })]).optional(),
  /** A store folder or an index folder holding one; false: encode documents even when the index has a store. */
  store: z.union([z.string().min(1), z.literal(false)]).optional(),
});

/**
 * Registry entry point. Stored vectors come from `store`, else from the command's
 * index folder (`context.indexDir`) when it holds a store; without one, documents are
 * encoded on the fly.
 */
export async function createColbertReranker(spec: RerankerSpec, context: RerankerContext = {}): Promise<Reranker> {
  const parsed = specSchema.safeParse(spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.join(".") || (issue.code === "unrecognized_keys" ? issue.keys.join(", ") : "spec");
    throw new WinnowError("CONFIG_INVALID", `colbert option ${field}: ${issue.message}`, { details: { field } });
  }
  const { type: _type, store: storeOption, ...options } = parsed.data;
  const { TokenStore } = await import("../../retrieval/colbert/token-store.js");
  const at = (p: string) => (isAbsolute(p) || !context.baseDir ? p : resolve(context.baseDir, p));
  let storeDir: string | undefined;
  if (typeof storeOption === "string") storeDir = at(storeOption);
  else if (storeOption !== false && context.indexDir && TokenStore.exists(context.indexDir)) storeDir = context.indexDir;
  const store = storeDir ? await TokenStore.open(storeDir) : undefined;
  try {
    const reranker = await ColbertReranker.load({ ...(options as ColbertOptions), store });
    if (!store && context.indexDir && storeOption !== false) context.logger?.info?.(`colbert: ${context.indexDir} has no token-vector store (\`winnow index --colbert\`): documents are encoded on the fly`);
    if (store) context.logger?.info?.(`colbert: document vectors read from ${store.path} (${store.manifest.compression.kind}, ${store.size} documents): no document is re-encoded`);
    return reranker;
  } catch (err) {
    store?.close();
    throw err;
  }
}
