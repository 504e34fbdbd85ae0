import { existsSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import type { Command } from "commander";
import { aliasProblem, HARD_MAX_DOCUMENTS, SERVE_ENVIRONMENT, loadServerConfigFile, resolveServerConfig, type ServedModelConfig, type ServerConfigInput } from "../../server/config.js";
import { startServer } from "../../server/server.js";
import { addRerankerOptions, rerankerSpecFromFlags, type RerankerFlags } from "../reranker-options.js";
import { UsageError } from "../usage-error.js";
import { numberFlag } from "../number-flag.js";

interface ServeFlags extends RerankerFlags {
  config?: string;
  pipeline?: string;
  modelId?: string;
  alias?: string[];
  host?: string;
  port?: string;
  apiKeyFile?: string;
  maxDocuments?: string;
  maxDocumentChars?: string;
  maxQueryChars?: string;
  bodyLimit?: string;
  maxQueuedPairs?: string;
  requestTimeout?: string;
  headersTimeout?: string;
  bodyTimeout?: string;
  maxConcurrent?: string;
  maxBatchTokens?: string;
  maxBatchPairs?: string;
  shutdownTimeout?: string;
  mallocTrim?: string;
  logLevel?: string;
  docs: boolean;
  requestLog?: string;
  requestLogSample?: string;
  requestLogTexts?: boolean;
  requestLogMaxBytes?: string;
  cache?: string;
  cacheTtl?: string;
  drainDelay?: string;
}

/**
 * Fills every flag the command line left unset from its WINNOW_* variable (SERVE_ENVIRONMENT),
 * so the precedence is flag, then environment, then config file, then default.
 */
export function withEnvironment(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): ServeFlags {
  const out = { ...flags } as unknown as Record<string, unknown>;
  for (const [name, flag] of Object.entries(SERVE_ENVIRONMENT)) {
    const value = env[name];
    if (value === undefined || value === "") continue;
    const key = flag.replace(/^--/, "").replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (out[key] === undefined) out[key] = value;
  }
  return out as unknown as ServeFlags;
}

/** The server configuration the flags describe: a config file (if any) with flags layered on top. */
export function serveConfigFromFlags(flags: ServeFlags): ServerConfigInput {
  const base: Partial<ServerConfigInput> = flags.config ? loadServerConfigFile(flags.config) : {};
  const config = { ...base, models: base.models ?? [] } as ServerConfigInput & { models: ServedModelConfig[] };
  if (flags.pipeline !== undefined) config.pipeline = flags.pipeline;
  // `--model` alone means a local cross-encoder, the one-model case.
  if (flags.model !== undefined && flags.reranker === undefined && flags.rerankerConfig === undefined) flags.reranker = "cross-encoder";
  if (flags.modelId !== undefined && flags.modelId.trim() === "") throw new UsageError("--model-id must not be empty");
  const spec = rerankerSpecFromFlags(flags);
  if (spec) {
    const id = flags.modelId ?? (typeof spec.model === "string" ? basename(spec.model.replace(/\/+$/, "")) : spec.type);
    config.models = [{ id, reranker: spec, default: true }, ...config.models.map((m) => ({ ...m, default: false }))];
  }
  if (config.models.length === 0 && config.pipeline === undefined) {
    throw new UsageError("nothing to serve: pass --model <folder-or-id> (a cross-encoder), reranker flags, --pipeline <file>, or --config <file>");
  }
  if (flags.alias?.length) config.aliases = { ...(config.aliases ?? {}), ...aliasFlags(flags.alias, config.models) };
  if (flags.host !== undefined) config.host = flags.host;
  const port = numberFlag("--port", flags.port, { min: 0, max: 65535 });
  if (port !== undefined) config.port = port;
  const limits = { ...(config.limits ?? {}) };
  const setLimit = (key: keyof NonNullable<ServerConfigInput["limits"]>, flag: string, value: string | undefined, min = 1) => {
    const n = numberFlag(flag, value, { min });
    if (n !== undefined) limits[key] = n;
  };
  const maxDocuments = numberFlag("--max-documents", flags.maxDocuments, { min: 1, max: HARD_MAX_DOCUMENTS });
  if (maxDocuments !== undefined) limits.maxDocuments = maxDocuments;
  setLimit("maxDocumentChars", "--max-document-chars", flags.maxDocumentChars);
  setLimit("maxQueryChars", "--max-query-chars", flags.maxQueryChars);
  setLimit("bodyLimitBytes", "--body-limit", flags.bodyLimit);
  setLimit("maxQueuedPairs", "--max-queued-pairs", flags.maxQueuedPairs);
  setLimit("requestTimeoutMs", "--request-timeout", flags.requestTimeout);
  setLimit("headersTimeoutMs", "--headers-timeout", flags.headersTimeout);
  setLimit("bodyTimeoutMs", "--body-timeout", flags.bodyTimeout);
  setLimit("maxConcurrentRequests", "--max-concurrent", flags.maxConcurrent);
  config.limits = limits;
  const batching = { ...(config.batching ?? {}) };
  const mbt = numberFlag("--max-batch-tokens", flags.maxBatchTokens, { min: 1 });
  if (mbt !== undefined) batching.maxBatchTokens = mbt;
  const mbp = numberFlag("--max-batch-pairs", flags.maxBatchPairs, { min: 1 });
  if (mbp !== undefined) batching.maxBatchPairs = mbp;
  config.batching = batching;
  if (flags.apiKeyFile !== undefined) config.auth = { ...(config.auth ?? {}), keysFile: flags.apiKeyFile };
  const st = numberFlag("--shutdown-timeout", flags.shutdownTimeout, { min: 0 });
  if (st !== undefined) config.shutdownTimeoutMs = st;
  const mt = numberFlag("--malloc-trim", flags.mallocTrim, { min: 0 });
  if (mt !== undefined) config.mallocTrimIntervalMs = mt;
  if (flags.logLevel !== undefined) {
    if (!LOG_LEVELS.includes(flags.logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(", ")}, got "${flags.logLevel}"`);
    config.logLevel = flags.logLevel as ServerConfigInput["logLevel"];
  }
  if (!flags.docs) config.docs = false;
  const sample = numberFlag("--request-log-sample", flags.requestLogSample, { min: 0, max: 1, integer: false });
  const maxBytes = numberFlag("--request-log-max-bytes", flags.requestLogMaxBytes, { min: 1_024 });
  if (flags.requestLog === undefined && config.requestLog === undefined && (sample !== undefined || flags.requestLogTexts || maxBytes !== undefined)) {
    throw new UsageError("--request-log-sample, --request-log-texts and --request-log-max-bytes need --request-log FILE");
  }
  if (flags.requestLog !== undefined || config.requestLog !== undefined) {
    const log = { ...(config.requestLog ?? { file: flags.requestLog! }) };
    if (flags.requestLog !== undefined) log.file = flags.requestLog;
    if (!existsSync(dirname(resolve(log.file)))) throw new UsageError(`--request-log ${log.file}: the folder ${dirname(resolve(log.file))} does not exist`);
    if (sample !== undefined) log.sample = sample;
    if (flags.requestLogTexts) log.texts = true;
    if (maxBytes !== undefined) log.maxBytes = maxBytes;
    config.requestLog = log;
  }
  if (flags.cache !== undefined) {
    if (!/^rediss?:\/\//.test(flags.cache)) throw new UsageError(`--cache must be a redis:// or rediss:// URL, got "${flags.cache}"`);
    config.cache = { ...(config.cache ?? {}), url: flags.cache };
  }
  const ttl = numberFlag("--cache-ttl", flags.cacheTtl, { min: 0 });
  if (ttl !== undefined) {
    if (config.cache === undefined) throw new UsageError("--cache-ttl needs --cache redis://… (or cache.url in the config file)");
    config.cache = { ...config.cache, ttlSeconds: ttl };
  }
  const drain = numberFlag("--drain-delay", flags.drainDelay, { min: 0, max: 600_000 });
  if (drain !== undefined) config.drainDelayMs = drain;
  // Flags are checked above, so what the schema still finds wrong came from the file: name it.
  resolveServerConfig(config, flags.config ?? "command line");
  return config;
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** `--alias NAME=MODEL` values as an aliases map, each checked against the served models. */
function aliasFlags(values: readonly string[], models: readonly ServedModelConfig[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf("=");
    const name = eq < 0 ? "" : value.slice(0, eq).trim();
    const target = eq < 0 ? "" : value.slice(eq + 1).trim();
    if (!name || !target) throw new UsageError(`--alias must be NAME=MODEL (e.g. rerank-v3.5=${models[0]?.id ?? "minilm"}), got "${value}"`);
    if (Object.hasOwn(out, name)) throw new UsageError(`--alias ${name}: given twice (${name}=${out[name]} and ${value})`);
    const problem = aliasProblem(name, target, models);
    if (problem) throw new UsageError(`--alias ${value}: ${problem}`);
    out[name] = target;
  }
  return out;
}

/** `winnow serve`: the Cohere/TEI-compatible rerank server. */
export function register(program: Command): void {
  const cmd = program
    .command("serve")
    .description("serve rerankers over HTTP: Cohere v1/v2 and TEI-compatible routes, dynamic batching, limits, API keys, Prometheus metrics (docs/server.md)")
    .option("--config <file>", "server config (YAML or JSON): models, pipeline, limits, auth, batching")
    .option("--pipeline <file>", "also serve this pipeline config (docs/pipelines.md) at POST /v1/search")
    .option("--model-id <name>", "name clients send as `model` for the --model reranker (default: the folder name)")
    .option(
      "--alias <name=model>",
      "another name clients may send as `model`, e.g. rerank-v3.5=minilm for Cohere clients (repeatable; `*=minilm` takes any name)",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option("--host <host>", "interface to listen on (default 127.0.0.1)")
    .option("--port <port>", "port (default 8080; 0 picks a free one)")
    .option("--api-key-file <file>", "require `Authorization: Bearer <key>` with a key from this file (one per line); WINNOW_API_KEYS also adds keys")
    .option("--max-documents <n>", `documents per request (default 1000, at most ${HARD_MAX_DOCUMENTS})`)
    .option("--max-document-chars <n>", "characters per document (default 100000)")
    .option("--max-query-chars <n>", "characters per query (default 8192)")
    .option("--body-limit <bytes>", "request body size (default 16 MiB)")
    .option("--max-queued-pairs <n>", "pairs waiting per model before requests get 429 (default 4096)")
    .option("--request-timeout <ms>", "per-request deadline, then 504 (default 30000)")
    .option("--headers-timeout <ms>", "a request's headers must arrive within this, else 408 and the connection is closed (default 10000)")
    .option("--body-timeout <ms>", "its body within this much more, else 408 and closed (default 30000)")
    .option("--max-concurrent <n>", "requests in flight per model for rerankers that cannot batch (default 4)")
    .option("--max-batch-tokens <n>", "padded tokens per forward pass (default: the model's batch budget)")
    .option("--max-batch-pairs <n>", "pairs per forward pass (default 64)")
    .option("--shutdown-timeout <ms>", "how long SIGTERM waits for in-flight requests (default 10000)")
    .option("--malloc-trim <ms>", "return freed C-heap memory to the OS this often, glibc only (default 10000; 0 = never)")
    .option("--log-level <level>", "fatal | error | warn | info | debug | trace | silent (default info)")
    .option("--no-docs", "do not serve the OpenAPI UI at /docs")
    .option("--request-log <file>", "append a sample of rerank requests to this JSONL file (queries, document ids, the answered order) for `winnow label` and `winnow eval --request-log`")
    .option("--request-log-sample <x>", "share of requests logged, 0..1 (default 0.1)")
    .option("--request-log-texts", "also log document texts (off by default; `winnow label` needs them)")
    .option("--request-log-max-bytes <n>", "rotate the log to FILE.1 at this size (default 268435456)")
    .option("--cache <url>", "share scores in Redis (redis://host:6379/0) across models and replicas; Redis gone = no cache, never an error")
    .option("--cache-ttl <s>", "score cache entry lifetime in seconds (default 86400; 0 = until evicted)")
    .option("--drain-delay <ms>", "after SIGTERM, answer /ready 503 while still serving for this long before closing (default 0)")
    .addHelpText("after", `\nEnvironment (a flag wins over its variable, a variable over the config file): ${Object.entries(SERVE_ENVIRONMENT).map(([v, f]) => `${v} (${f})`).join(", ")}; WINNOW_API_KEYS adds API keys.`);
  addRerankerOptions(cmd);
  cmd.action(async (flags: ServeFlags) => {
    const config = serveConfigFromFlags(withEnvironment(flags));
    const running = await startServer(config, { handleSignals: true });
    const app = running.app;
    const models = app.winnow.models.all.map((m) => `${m.id} (${m.type}${m.batched ? ", batched" : ""})`).join(", ");
    const routes = [...(models ? ["/v1/rerank", "/v2/rerank", "/rerank"] : []), ...(app.winnow.pipeline ? ["/v1/search"] : [])].join(", ");
    app.log.info(`winnow serve: ${models || "no rerank models"} at ${running.url} (POST ${routes}; docs at /docs)`);
    // Keep the command alive until a signal stops the server (startServer exits the process then).
    await new Promise<never>(() => {});
  });
}
