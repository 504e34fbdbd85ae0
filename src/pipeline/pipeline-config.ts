import { readFile } from "node:fs/promises";
import { dirname, extname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { WinnowError } from "../core/errors.js";
import type { ScoreCache } from "../core/score-cache.js";
import type { Retriever } from "../core/types.js";
import { createReranker, type CorpusIndex, type RerankerContext, type RerankerSpec } from "../rerankers/registry.js";
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

const embedderSchema = z.looseObject({ type: z.enum(["onnx", "openai"]) });

const retrieverSchema = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("bm25"),
      name: z.string().min(1).optional(),
      /** Folder written by `winnow index`. */
      index: z.string().min(1),
      k: z.number().int().min(1).max(10_000).default(100),
      filter: filterSchema.optional(),
      weight: z.number().min(0).optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal("dense"),
      name: z.string().min(1).optional(),
      /** Folder written by `winnow index` + `winnow embed` (documents come from its BM25 store). */
      index: z.string().min(1),
      /** How queries are embedded; must match what embedded the documents. Default: the one recorded by `winnow embed`. */
      embedder: embedderSchema.optional(),
      k: z.number().int().min(1).max(10_000).default(100),
      filter: filterSchema.optional(),
      weight: z.number().min(0).optional(),
    })
    .strict(),
]);

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

/** Where retrievers and caches come from; injectable so tests and embedders of Winnow can swap them. */
export interface PipelineConfigContext {
  /** Folder relative paths resolve against (the config file's folder). */
  baseDir: string;
  openRetriever?: (spec: PipelineConfig["retrievers"][number], indexDir: string) => Promise<Retriever>;
  createReranker?: (spec: RerankerSpec, context: RerankerContext) => Promise<import("../core/types.js").Reranker>;
}

async function defaultOpenRetriever(spec: PipelineConfig["retrievers"][number], indexDir: string): Promise<Retriever> {
  // Loaded lazily so a rerank-only pipeline never reads index code or files it does not use.
  const { Bm25Index } = await import("../retrieval/bm25/bm25-index.js");
  const bm25 = await Bm25Index.load(indexDir);
  if (spec.type === "bm25") return bm25;
  const { openDenseRetriever } = await import("../retrieval/dense/open-dense-retriever.js");
  return openDenseRetriever(indexDir, bm25, spec.embedder);
}

async function createCache(spec: NonNullable<PipelineConfig["cache"]>): Promise<ScoreCache> {
  if (spec.type === "memory") {
    const { MemoryScoreCache } = await import("../cache/memory-score-cache.js");
    return new MemoryScoreCache({ maxBytes: spec.maxBytes, ttlMs: spec.ttlMs });
  }
  const { RedisScoreCache } = await import("../cache/redis-score-cache.js");
  return new RedisScoreCache({ url: spec.url, prefix: spec.prefix, ttlSeconds: spec.ttlSeconds, timeoutMs: spec.timeoutMs });
}

/** Builds a live pipeline from a parsed config: opens indexes, creates rerankers and the cache. */
export async function pipelineFromConfig(config: PipelineConfig, context: PipelineConfigContext): Promise<Pipeline> {
  const open = context.openRetriever ?? defaultOpenRetriever;
  const makeReranker = context.createReranker ?? createReranker;
  const pools: Pool[] = [];
  let bm25Index: Retriever | undefined;
  for (const [i, r] of config.retrievers.entries()) {
    const name = r.name ?? (config.retrievers.filter((x) => x.type === r.type).length > 1 ? `${r.type}${i + 1}` : r.type);
    const retriever = await open(r, resolve(context.baseDir, r.index));
    if (r.type === "bm25") bm25Index ??= retriever;
    pools.push({ name, retriever, k: r.k, filter: r.filter as Pool["filter"], weight: r.weight });
  }
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
    // A family that reads corpus statistics (the learned one) takes them from the BM25 index when there is one.
    const rerankerContext: RerankerContext = { index: bm25Index as CorpusIndex | undefined, baseDir: context.baseDir };
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
