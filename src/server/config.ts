import { readFileSync } from "node:fs";
import { dirname, extname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { WinnowError } from "../core/errors.js";
import type { Reranker } from "../core/types.js";
import type { Pipeline } from "../pipeline/pipeline.js";
import type { RerankerSpec } from "../rerankers/registry.js";

/** The most documents one request may ever carry, whatever the configuration says (Cohere's own cap). */
export const HARD_MAX_DOCUMENTS = 10_000;

const limitsSchema = z
  .object({
    /** Documents (or TEI texts) per request. */
    maxDocuments: z.number().int().min(1).max(HARD_MAX_DOCUMENTS).default(1_000),
    /** Characters per document, after rank_fields are joined. */
    maxDocumentChars: z.number().int().min(1).default(100_000),
    maxQueryChars: z.number().int().min(1).default(8_192),
    /** Request body size in bytes. */
    bodyLimitBytes: z.number().int().min(1_024).default(16 * 1024 * 1024),
    /** Pairs (scoring units) waiting per model; beyond it requests get 429. */
    maxQueuedPairs: z.number().int().min(1).default(4_096),
    /** Per-request deadline; past it the request answers 504 and its queued work is dropped. */
    requestTimeoutMs: z.number().int().min(1).default(30_000),
    /** A request's headers must arrive within this of its first byte; then 408 and the connection is closed. */
    headersTimeoutMs: z.number().int().min(1).default(10_000),
    /** Its body within this much more (whole request: headersTimeoutMs + bodyTimeoutMs); then 408 and closed. */
    bodyTimeoutMs: z.number().int().min(1).default(30_000),
    /** Requests in flight per model for rerankers that cannot be batched across requests. */
    maxConcurrentRequests: z.number().int().min(1).default(4),
  })
  .strict();

const batchingSchema = z
  .object({
    /** Padded tokens (pairs × longest pair) per forward pass; defaults to the model's own budget. */
    maxBatchTokens: z.number().int().min(1).optional(),
    /** Pairs per forward pass. */
    maxBatchPairs: z.number().int().min(1).default(64),
  })
  .strict();

const authSchema = z
  .object({
    keys: z.array(z.string().min(8, "API keys must be at least 8 characters")).default([]),
    /** A file with one key per line (blank lines and `#` comments ignored). */
    keysFile: z.string().optional(),
    /** Also read comma-separated keys from WINNOW_API_KEYS. */
    keysFromEnv: z.boolean().default(true),
    /** Paths that never need a key. */
    publicPaths: z.array(z.string()).default(["/health", "/ready", "/metrics"]),
  })
  .strict();

const requestLogSchema = z
  .object({
    /** JSONL file the sampled requests are appended to. */
    file: z.string().min(1),
    /** Share of requests logged. */
    sample: z.number().min(0).max(1).default(0.1),
    /** Also log document texts (needed by `winnow label --request-log`); off: queries and document ids only. */
    texts: z.boolean().default(false),
    /** Size at which the file is rotated to FILE.1. */
    maxBytes: z.number().int().min(1_024).default(256 * 2 ** 20),
    /** Lines waiting to be written before sampled requests are dropped. */
    maxQueuedLines: z.number().int().min(1).default(1_000),
  })
  .strict();

/**
 * The score cache every batched model shares, in Redis so replicas share it too: a pair
 * scored on one replica is a hit on the others. A Redis that goes away means no cache
 * (a warning and winnow_score_cache_up 0), never a failed request.
 */
const sharedCacheSchema = z
  .object({
    url: z.string().regex(/^rediss?:\/\//, "a redis:// or rediss:// URL"),
    /** Entry lifetime; 0 keeps entries until Redis evicts them (set maxmemory-policy). */
    ttlSeconds: z.number().int().min(0).default(86_400),
    /** Key prefix, so several deployments can share one Redis. */
    prefix: z.string().default("winnow:score:"),
    /** Give up on one cache round trip after this long and score instead. */
    timeoutMs: z.number().int().min(1).max(10_000).default(100),
  })
  .strict();

const specSchema = z.looseObject({ type: z.string().min(1) });

const modelSchema = z
  .object({
    /** The name clients send as `model`. */
    id: z.string().min(1),
    reranker: specSchema,
    default: z.boolean().optional(),
    /** Other names clients may send for this model (e.g. "rerank-v3.5" for drop-in Cohere clients). */
    aliases: z.array(z.string().min(1)).optional(),
    /**
     * Host the reranker in a worker thread (default true). ONNX Runtime's forward pass
     * blocks its thread, so on the main thread it would stall every other request.
     */
    worker: z.boolean().optional(),
    /** Cache raw scores per (model, settings, query, document) in memory; batched models only. */
    cache: z.union([z.boolean(), z.object({ maxBytes: z.number().int().min(1_024).optional(), ttlMs: z.number().positive().optional() }).strict()]).optional(),
  })
  .strict();

export const serverConfigSchema = z
  .object({
    host: z.string().default("127.0.0.1"),
    port: z.number().int().min(0).max(65_535).default(8080),
    /** May be empty when a `pipeline` is served (then only POST /v1/search answers). */
    models: z.array(modelSchema).default([]),
    /** A pipeline config file (docs/pipelines.md) served at POST /v1/search. */
    pipeline: z.string().min(1).optional(),
    /**
     * Extra names clients may send as `model`, each naming a model id: `{ rerank-v3.5: minilm }`
     * (what `--alias NAME=MODEL` sets). `"*"` catches every name no model or alias claims.
     */
    aliases: z.record(z.string().min(1).max(256), z.string().min(1)).default({}),
    limits: limitsSchema.default(limitsSchema.parse({})),
    batching: batchingSchema.default(batchingSchema.parse({})),
    auth: authSchema.default(authSchema.parse({})),
    /** How long SIGTERM/SIGINT waits for in-flight requests before exiting. */
    shutdownTimeoutMs: z.number().int().min(0).default(10_000),
    /**
     * After SIGTERM, how long /ready answers 503 "draining" while requests are still served,
     * so a load balancer stops routing here before the listener closes (then shutdownTimeoutMs applies).
     */
    drainDelayMs: z.number().int().min(0).max(600_000).default(0),
    /** The shared score cache (Redis): `winnow serve --cache redis://…`. */
    cache: sharedCacheSchema.optional(),
    /** Return freed C-heap memory to the OS this often (glibc malloc_trim; 0 = never). */
    mallocTrimIntervalMs: z.number().int().min(0).default(10_000),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    /** Serve the OpenAPI UI at /docs. */
    docs: z.boolean().default(true),
    /** Opt-in sampled request log (docs/server.md): what `winnow label` and `winnow eval` read back. */
    requestLog: requestLogSchema.optional(),
  })
  .strict();

export type ServerLimits = z.infer<typeof limitsSchema>;
export type BatchingConfig = z.infer<typeof batchingSchema>;
export type AuthConfig = z.infer<typeof authSchema>;
export type RequestLogConfig = z.infer<typeof requestLogSchema>;
export type SharedCacheConfig = z.infer<typeof sharedCacheSchema>;

/**
 * The environment variables `winnow serve` reads, each standing for one flag. Precedence,
 * highest first: command-line flag, environment variable, config file, default.
 */
export const SERVE_ENVIRONMENT: Readonly<Record<string, string>> = {
  WINNOW_CONFIG: "--config",
  WINNOW_MODEL: "--model",
  WINNOW_MODEL_ID: "--model-id",
  WINNOW_PIPELINE: "--pipeline",
  WINNOW_HOST: "--host",
  WINNOW_PORT: "--port",
  WINNOW_SCORE_CACHE: "--cache",
  WINNOW_SCORE_CACHE_TTL: "--cache-ttl",
  WINNOW_MAX_QUEUED_PAIRS: "--max-queued-pairs",
  WINNOW_REQUEST_TIMEOUT: "--request-timeout",
  WINNOW_SHUTDOWN_TIMEOUT: "--shutdown-timeout",
  WINNOW_DRAIN_DELAY: "--drain-delay",
  WINNOW_LOG_LEVEL: "--log-level",
};

/** One served model, as the library accepts it: a registry spec or an already-built reranker. */
export interface ServedModelConfig {
  id: string;
  reranker: RerankerSpec | Reranker;
  default?: boolean;
  aliases?: string[];
  /** Host a spec's reranker in a worker thread (default true; instances always run in-process). */
  worker?: boolean;
  /** In-memory score cache for batched models: true (64 MiB) or LRU settings. */
  cache?: boolean | { maxBytes?: number; ttlMs?: number };
}

/** The configuration after defaults, with models as specs or instances and the pipeline as a file or an instance. */
export type ServerConfig = Omit<z.infer<typeof serverConfigSchema>, "models" | "pipeline"> & { models: ServedModelConfig[]; pipeline?: string | Pipeline };

/** What callers may pass: every setting optional; at least one model or a pipeline. */
export type ServerConfigInput = Omit<z.input<typeof serverConfigSchema>, "models" | "pipeline"> & { models?: ServedModelConfig[]; pipeline?: string | Pipeline };

function isRerankerInstance(x: unknown): x is Reranker {
  return typeof x === "object" && x !== null && typeof (x as Reranker).rerank === "function";
}

function describeIssues(error: z.ZodError, source: string): string {
  return error.issues
    .map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`)
    .map((m) => `${source}: ${m}`)
    .join("; ");
}

/**
 * Validates a configuration and fills in defaults. Reranker instances (library use)
 * pass through untouched; specs are checked for a `type` and left to the family's
 * factory for the rest. Errors name the path of the bad setting.
 */
export function resolveServerConfig(input: ServerConfigInput, source = "server config"): ServerConfig {
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw new WinnowError("CONFIG_INVALID", `${source}: expected an object`, { details: { field: "(root)" } });
  }
  const models = Array.isArray(input.models) ? input.models : undefined;
  // Instances cannot go through zod (they are class objects); swap in a placeholder spec.
  const pipeline = input.pipeline;
  const forSchema = {
    ...input,
    models: models?.map((m) => (m && isRerankerInstance(m.reranker) ? { ...m, reranker: { type: "(instance)" } } : m)),
    pipeline: typeof pipeline === "object" && pipeline !== null ? "(instance)" : pipeline,
  };
  const parsed = serverConfigSchema.safeParse(forSchema);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new WinnowError("CONFIG_INVALID", describeIssues(parsed.error, source), {
      details: { field: first?.path.join(".") ?? "(root)" },
    });
  }
  if (parsed.data.models.length === 0 && parsed.data.pipeline === undefined) {
    throw new WinnowError("CONFIG_INVALID", `${source}: models: at least one model is required (or a pipeline to serve at /v1/search)`, { details: { field: "models" } });
  }
  const ids = new Set<string>();
  for (const [i, m] of parsed.data.models.entries()) {
    for (const [field, name] of [["id", m.id], ...(m.aliases ?? []).map((a, k) => [`aliases.${k}`, a])]) {
      if (ids.has(name)) {
        throw new WinnowError("CONFIG_INVALID", `${source}: models.${i}.${field}: model name "${name}" is used twice`, {
          details: { field: `models.${i}.${field}` },
        });
      }
      ids.add(name);
    }
  }
  for (const [name, target] of Object.entries(parsed.data.aliases)) {
    const problem = aliasProblem(name, target, parsed.data.models);
    if (problem) throw new WinnowError("CONFIG_INVALID", `${source}: aliases.${name}: ${problem}`, { details: { field: `aliases.${name}` } });
  }
  const defaults = parsed.data.models.filter((m) => m.default);
  if (defaults.length > 1) {
    throw new WinnowError("CONFIG_INVALID", `${source}: models: only one model may be the default (got ${defaults.map((m) => m.id).join(", ")})`, {
      details: { field: "models" },
    });
  }
  return {
    ...parsed.data,
    models: parsed.data.models.map((m, i) => ({ ...m, reranker: models![i].reranker })),
    pipeline,
  };
}

/** The name a client may send for any model, when `aliases` maps it: every name nothing else claims. */
export const CATCH_ALL_ALIAS = "*";

/**
 * Why `name` cannot be an alias of model `target` among `models` (undefined when it can):
 * the target must be a served model's id, and the name must not already be a model's id
 * or one of its `aliases`.
 */
export function aliasProblem(name: string, target: string, models: ReadonlyArray<{ id: string; aliases?: string[] }>): string | undefined {
  if (!models.some((m) => m.id === target)) {
    return `model "${target}" is not served here (model ids: ${models.map((m) => m.id).join(", ")})`;
  }
  if (models.some((m) => m.id === name)) return `"${name}" is already a model id; an alias needs a name of its own`;
  const owner = models.find((m) => m.aliases?.includes(name));
  if (owner) return `"${name}" is already an alias of model "${owner.id}"`;
  return undefined;
}

/** Reads a YAML or JSON configuration file (by extension; YAML otherwise, which also parses JSON). */
export function loadServerConfigFile(path: string): ServerConfigInput {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new WinnowError("CONFIG_INVALID", `${path}: cannot read server config (${(err as Error).message})`, {
      details: { field: "config", path },
    });
  }
  let data: unknown;
  try {
    data = extname(path).toLowerCase() === ".json" ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new WinnowError("CONFIG_INVALID", `${path}: not valid ${extname(path) === ".json" ? "JSON" : "YAML"}: ${(err as Error).message}`, {
      details: { field: "config", path },
    });
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new WinnowError("CONFIG_INVALID", `${path}: expected a mapping at the top level`, { details: { field: "(root)", path } });
  }
  const config = data as ServerConfigInput;
  // Like the paths inside a pipeline config, the pipeline file is relative to the file naming it.
  if (typeof config.pipeline === "string") config.pipeline = resolve(dirname(path), config.pipeline);
  return config;
}
