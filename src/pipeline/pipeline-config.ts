import { readFile } from "node:fs/promises";
import { dirname, extname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { WinnowError } from "../core/errors.js";
import type { ScoreCache } from "../core/score-cache.js";
import { createReranker, type RerankerContext, type RerankerSpec } from "../rerankers/registry.js";
import { checkRetrieverSpec, createRetriever, type FirstStageRetriever, type RetrieverContext, type RetrieverSpec } from "../retrieval/registry.js";
import { validateMetadataFilter } from "../retrieval/pools/metadata-filter.js";
import type { Pool } from "../retrieval/pools/pools.js";
import { createPipeline, type Pipeline, type StageSpec } from "./pipeline.js";

/**
 * A pipeline as a YAML/JSON file, for `winnow pipeline` and the server's /v1/search.
 * Paths are relative to the config file.
 */
const filterSchema = z.record(z.string(), z.unknown()).superRefine((f, ctx) => {
  try {
    validateMetadataFilter(f);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message.replace(/^filter\.?/, "") });
  }
});

/**
 * A pool: where candidates come from (`type` and that row's options, checked by the
 * retriever registry's schema for the row) plus how the pipeline uses them (name, k,
 * filter, fusion weight). A new first stage is a registry row; nothing here changes.
 */
const retrieverSchema = z
  .looseObject({
    type: z.string().min(1),
    name: z.string().min(1).optional(),
    k: z.number().int().min(1).max(10_000).default(100),
    filter: filterSchema.optional(),
    weight: z.number().min(0).optional(),
  })
  .transform((pool, ctx) => {
    const { name, k, filter, weight, ...spec } = pool;
    try {
      return { name, k, filter, weight, spec: checkRetrieverSpec(spec as RetrieverSpec) };
    } catch (err) {
      const e = err as WinnowError;
      const field = typeof e.details?.field === "string" ? e.details.field : "type";
      ctx.addIssue({ code: "custom", message: typeof e.details?.issue === "string" ? e.details.issue : e.message, path: [field] });
      return z.NEVER;
    }
  });

const stageSchema = z
  .object({
    reranker: z.looseObject({ type: z.string().min(1) }),
    topK: z.number().int().min(1).max(100_000),
    name: z.string().min(1).optional(),
    threshold: z.number().optional(),
    batchSize: z.number().int().min(1).max(10_000).optional(),
  })
  .strict();

const cacheSchema = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("memory"),
      maxBytes: z.number().int().min(1024).optional(),
      ttlMs: z.number().positive().optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal("redis"),
      url: z.string().min(1).default("redis://127.0.0.1:6379"),
      prefix: z.string().optional(),
      ttlSeconds: z.number().int().min(0).optional(),
      timeoutMs: z.number().positive().optional(),
    })
    .strict(),
]);

const scoringSchema = z
  .object({
    weights: z.record(z.string(), z.number()).default({}),
    recency: z.object({ field: z.string().min(1), halfLifeDays: z.number().positive(), weight: z.number() }).strict().optional(),
    trust: z
      .object({ field: z.string().min(1), weight: z.number(), values: z.record(z.string(), z.number()).optional(), default: z.number().optional() })
      .strict()
      .optional(),
  })
  .strict();

export const pipelineConfigSchema = z
  .object({
    retrievers: z.array(retrieverSchema).min(1, "list at least one retriever"),
    fusion: z
      .discriminatedUnion("method", [
        z.object({ method: z.literal("rrf"), k: z.number().min(0).default(60), limit: z.number().int().min(1).optional() }).strict(),
        z
          .object({
            method: z.literal("weighted"),
            normalization: z.enum(["min-max", "z-score", "none"]).default("min-max"),
            limit: z.number().int().min(1).optional(),
          })
          .strict(),
      ])
      .optional(),
    stages: z.array(stageSchema).default([]),
    topN: z.number().int().min(1).max(100_000).default(10),
    budgetMs: z.number().positive().optional(),
    cache: cacheSchema.optional(),
    scoring: scoringSchema.optional(),
  })
  .strict();

export type PipelineConfig = z.infer<typeof pipelineConfigSchema>;

/** `stages.0.topK: Too small…` → one line per problem, each naming its path in the file. */
function describeIssues(file: string, error: z.ZodError): string {
  const lines = error.issues.map((i) => {
    const path = i.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "");
    return `${path || "(root)"}: ${i.message}`;
  });
  return `${file}: invalid pipeline config: ${lines.join("; ")}`;
}

export function parsePipelineConfig(raw: unknown, file = "pipeline config"): PipelineConfig {
  const parsed = pipelineConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new WinnowError("CONFIG_INVALID", describeIssues(file, parsed.error), { details: { file } });
  }
  return parsed.data;
}

export async function readPipelineConfig(file: string): Promise<PipelineConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new WinnowError("NOT_FOUND", `pipeline config ${file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`, {
      details: { file },
    });
  }
  let raw: unknown;
  try {
    raw = extname(file).toLowerCase() === ".json" ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new WinnowError("CONFIG_INVALID", `${file}: not valid ${extname(file) === ".json" ? "JSON" : "YAML"}: ${(err as Error).message}`, {
      details: { file },
    });
  }
  return parsePipelineConfig(raw, file);
}

/** Where retrievers and rerankers come from; injectable so tests and embedders of Winnow can swap them. */
export interface PipelineConfigContext {
  /** Folder relative paths resolve against (the config file's folder). */
  baseDir: string;
  /** What first stages may use besides their spec (a dataset, a built index, a cache folder); `baseDir` is the one above. */
  retrieval?: Omit<RetrieverContext, "baseDir">;
  createRetriever?: (spec: RetrieverSpec, context: RetrieverContext) => Promise<FirstStageRetriever>;
  createReranker?: (spec: RerankerSpec, context: RerankerContext) => Promise<import("../core/types.js").Reranker>;
}

type CacheConfig = NonNullable<PipelineConfig["cache"]>;

/** One loader per score-cache kind (the schema's union), loaded only when configured. */
const cacheLoaders: { [K in CacheConfig["type"]]: (spec: Extract<CacheConfig, { type: K }>) => Promise<ScoreCache> } = {
  memory: async (spec) => new (await import("../cache/memory-score-cache.js")).MemoryScoreCache({ maxBytes: spec.maxBytes, ttlMs: spec.ttlMs }),
  redis: async (spec) =>
    new (await import("../cache/redis-score-cache.js")).RedisScoreCache({ url: spec.url, prefix: spec.prefix, ttlSeconds: spec.ttlSeconds, timeoutMs: spec.timeoutMs }),
};

function createCache(spec: CacheConfig): Promise<ScoreCache> {
  return (cacheLoaders[spec.type] as (s: CacheConfig) => Promise<ScoreCache>)(spec);
}

/** Builds a live pipeline from a parsed config: opens indexes, creates rerankers and the cache. */
export async function pipelineFromConfig(config: PipelineConfig, context: PipelineConfigContext): Promise<Pipeline> {
  const makeRetriever = context.createRetriever ?? createRetriever;
  const makeReranker = context.createReranker ?? createReranker;
  // One context for every pool, so pools over one index folder share it (see createRetriever).
  const retrievalContext: RetrieverContext = { ...context.retrieval, baseDir: context.baseDir };
  const pools: Pool[] = [];
  const opened: FirstStageRetriever[] = [];
  for (const [i, r] of config.retrievers.entries()) {
    const type = r.spec.type;
    const name = r.name ?? (config.retrievers.filter((x) => x.spec.type === type).length > 1 ? `${type}${i + 1}` : type);
    let retriever: FirstStageRetriever;
    try {
      retriever = await makeRetriever(r.spec, retrievalContext);
    } catch (err) {
      for (const o of opened) await o.close?.();
      // Say which pool: "retrievers[1].index: …", as the schema's errors do.
      if (err instanceof WinnowError && err.code === "CONFIG_INVALID" && typeof err.details.field === "string") {
        const field = `retrievers[${i}].${err.details.field}`;
        throw new WinnowError("CONFIG_INVALID", `${field}: ${err.message}`, { details: { ...err.details, field }, cause: err });
      }
      throw err;
    }
    opened.push(retriever);
    pools.push({ name, retriever, k: r.k, filter: r.filter as Pool["filter"], weight: r.weight });
  }
  // Rerankers that read corpus statistics (the learned one) get the first pool's corpus index (the BM25 one), and vectors.
  const corpusIndex = opened.find((o) => o.corpusIndex)?.corpusIndex;
  const vectors = opened.find((o) => o.vectors)?.vectors;
  const stages: StageSpec[] = [];
  for (const [i, s] of config.stages.entries()) {
    const spec = { ...s.reranker } as RerankerSpec;
    // Model and index paths in a stage spec are relative to the config file, like retriever index paths.
    for (const key of ["model", "index"] as const) {
      const value = spec[key];
      if (typeof value === "string" && /^\.\.?\//.test(value)) spec[key] = resolve(context.baseDir, value);
    }
    // Stage names key scores in results and scoring weights: default to the family, numbered when repeated.
    const name = s.name ?? (config.stages.filter((x) => x.reranker.type === spec.type).length > 1 ? `${spec.type}${i + 1}` : spec.type);
    const rerankerContext: RerankerContext = { index: corpusIndex, vectors, baseDir: context.baseDir };
    stages.push({ reranker: await makeReranker(spec, rerankerContext), topK: s.topK, name, threshold: s.threshold, batchSize: s.batchSize, cacheSettings: { ...s.reranker } });
  }
  return createPipeline({
    retrievers: pools,
    fusion: config.fusion,
    stages,
    topN: config.topN,
    budgetMs: config.budgetMs,
    cache: config.cache ? await createCache(config.cache) : undefined,
    scoring: config.scoring,
  });
}

/** Reads, validates and builds a pipeline from a file, warmed up (see Pipeline.warmup) unless `warmup: false`. */
export async function loadPipeline(file: string, context: Omit<PipelineConfigContext, "baseDir"> & { warmup?: boolean } = {}): Promise<Pipeline> {
  const config = await readPipelineConfig(file);
  const pipeline = await pipelineFromConfig(config, { ...context, baseDir: dirname(resolve(file)) });
  if (context.warmup !== false) await pipeline.warmup();
  return pipeline;
}
