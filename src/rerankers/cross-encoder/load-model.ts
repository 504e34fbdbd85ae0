import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { WinnowError } from "../../core/errors.js";
import { resolveModelSource, type ModelSourceOptions, type ResolvedModel } from "../../models/model-source.js";
import { probeInt8Kernels, schemeIsExact, type Int8KernelProbe } from "../../onnx/int8-kernel-probe.js";
import { inspectInt8Weights } from "../../onnx/int8-weights.js";
import { catalogueEntry, DEFAULT_ONNX_FILES, type CatalogueEntry, type Dtype } from "./catalogue.js";
import { int8CacheDir, int8Candidates, planInt8, requantizeCached, UNSAFE_INT8_POLICIES, type Int8State, type UnsafeInt8Policy } from "./int8-model.js";
import { DEFAULT_MAX_QUERY_TOKENS, PairEncoder } from "./pair-encoder.js";
import { PairSession, type PairSessionOptions } from "./pair-session.js";
import { pairTemplateFromTokenizerJson } from "./pair-template.js";
import { defaultDtypeFor, resolveExecutionProviders } from "./execution-providers.js";
import { checkVocabulary } from "./vocab-check.js";

export interface CrossEncoderModelOptions extends PairSessionOptions {
  /** Hub id (`cross-encoder/ms-marco-MiniLM-L-6-v2`) or a local folder in the Hugging Face layout. */
  model: string;
  /** `fp32` (onnx/model.onnx) or `int8` (the quantized graph); default per catalogue, else fp32. */
  dtype?: Dtype;
  /** ONNX file inside the model folder, overriding the dtype's default name. */
  onnxFile?: string;
  revision?: string;
  cacheDir?: string;
  offline?: boolean;
  /** Longest pair in tokens (default: what the model supports, capped at 512). */
  maxLength?: number;
  maxQueryTokens?: number;
  signal?: AbortSignal;
  onDownload?: (file: string) => void;
  /**
   * int8 only: what to do when the int8 graph's weights are not multiplied exactly by this
   * CPU's ONNX Runtime kernels and ONNX Runtime cannot convert them at load (see
   * int8-model.ts): "requantize" (default: quantize the fp32 graph here with the scheme
   * exact on this CPU, cached; fp32 with a warning when that cannot be done), "fp32"
   * (warning), or "keep" (load it anyway, warning; `model.int8.exact` is false).
   */
  unsafeInt8?: UnsafeInt8Policy;
  /** Where local requantizations are cached (default int8CacheDir(): `$WINNOW_CACHE/int8` or `~/.cache/winnow/int8`). */
  int8CacheDir?: string;
  /** The int8 kernel probe result to decide with (default: probe this process's CPU; tests pass another CPU's). */
  int8Probe?: Int8KernelProbe;
  /** One-line warnings (int8 fallbacks); default: stderr. */
  onWarning?: (message: string) => void;
}

export interface LoadedCrossEncoder {
  source: ResolvedModel;
  /** The dtype that runs: "fp32" when an int8 request fell back to fp32 (see `int8`). */
  dtype: Dtype;
  /** The ONNX file in the model folder (for a local requantization, the int8 file it replaces; `int8.runs` names the graph). */
  onnxFile: string;
  /** For int8 requests: which int8 graph runs, whether it is exact on this CPU, and why. */
  int8?: Int8State;
  maxLength: number;
  /** Longest pair the model itself can take. */
  modelMaxLength: number;
  numLabels: number;
  catalogue?: CatalogueEntry;
  encoder: PairEncoder;
  session: PairSession;
}

/** Long-context models (8k) still default to 512: attention is quadratic, and windows cover the rest. */
export const DEFAULT_MAX_LENGTH_CAP = 512;

interface ModelConfigJson {
  model_type?: string;
  architectures?: string[];
  vocab_size?: number;
  max_position_embeddings?: number;
  pad_token_id?: number;
  num_labels?: number;
  id2label?: Record<string, string>;
}

function readJson<T>(path: string, what: string): T {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch (err) {
    throw new WinnowError("MODEL_LOAD_FAILED", `cannot read ${what} ${path}: ${(err as Error).message}`, { details: { path }, cause: err });
  }
}

/** The longest sequence the architecture takes: position table size, less RoBERTa's padding offset. */
function architectureMaxLength(config: ModelConfigJson, tokenizerConfig: { model_max_length?: number }): number {
  let limit = Infinity;
  if (typeof config.max_position_embeddings === "number") {
    const roberta = ["roberta", "xlm-roberta", "camembert"].includes(config.model_type ?? "");
    limit = roberta ? config.max_position_embeddings - ((config.pad_token_id ?? 1) + 1) : config.max_position_embeddings;
  }
  const tml = tokenizerConfig.model_max_length;
  if (typeof tml === "number" && tml > 0 && tml < 1e6) limit = Math.min(limit, tml);
  return limit;
}

function numLabelsOf(config: ModelConfigJson, path: string): number {
  const n = config.num_labels ?? (config.id2label ? Object.keys(config.id2label).length : 1);
  if (n !== 1 && n !== 2) {
    throw new WinnowError("MODEL_LOAD_FAILED", `${path}: ${n} labels; a reranker needs 1 (sigmoid) or 2 (softmax of label 1)`, { details: { path, numLabels: n } });
  }
  return n;
}

const defaultWarning = (message: string) => process.stderr.write(`winnow: warning: ${message}\n`);

/** Whether `err` says that `file` (and only it) is missing, so the next candidate file may be tried. */
export function missingOnly(err: unknown, file: string): boolean {
  if (!(err instanceof WinnowError) || err.code !== "MODEL_NOT_FOUND") return false;
  const d = err.details as { file?: string; missing?: string[]; required?: string[] };
  if (d.file !== undefined) return d.file === file; // hub: 404 on this file
  if (d.missing !== undefined) return d.missing.length === 1 && d.missing[0] === file; // folder
  return d.required !== undefined; // offline and not cached with this file: another candidate may be
}

/** Resolves the model with the first of `candidates` it has; rethrows the first candidate's error when it has none. */
async function resolveWithFirst(model: string, candidates: readonly string[], sourceOptions: ModelSourceOptions): Promise<{ source: ResolvedModel; file: string }> {
  let first: WinnowError | undefined;
  for (const file of candidates) {
    try {
      const source = await resolveModelSource(model, { required: ["config.json", "tokenizer.json", file], optional: ["tokenizer_config.json", "special_tokens_map.json"] }, sourceOptions);
      return { source, file };
    } catch (err) {
      if (!missingOnly(err, file)) throw err;
      first ??= err as WinnowError;
    }
  }
  if (candidates.length === 1) throw first!;
  throw new WinnowError("MODEL_NOT_FOUND", `${first!.message} (int8 graphs tried, best first for this CPU: ${candidates.join(", ")})`, { details: { ...first!.details, tried: candidates }, cause: first });
}

interface ChosenGraph {
  path: string;
  onnxFile: string;
  dtype: Dtype;
  int8?: Int8State;
  x64QuantPrecision?: boolean;
  /** The fp32 fallback to use if ONNX Runtime rejects the chosen int8 session. */
  onSessionError?: () => Promise<ChosenGraph>;
}

/** Picks the int8 graph that is exact here (or the fallback the policy allows), as described in int8-model.ts. */
async function chooseInt8Graph(options: CrossEncoderModelOptions, entry: CatalogueEntry | undefined, sourceOptions: ModelSourceOptions): Promise<{ source: ResolvedModel; graph: ChosenGraph }> {
  const policy = options.unsafeInt8 ?? "requantize";
  if (!UNSAFE_INT8_POLICIES.includes(policy)) {
    throw new WinnowError("CONFIG_INVALID", `unsafeInt8 must be one of ${UNSAFE_INT8_POLICIES.join(", ")}, got ${JSON.stringify(policy)}`, { details: { field: "unsafeInt8" } });
  }
  const warn = options.onWarning ?? defaultWarning;
  const probe = options.int8Probe ?? (await probeInt8Kernels());
  const candidates = options.onnxFile ? [options.onnxFile] : int8Candidates(entry, probe, DEFAULT_ONNX_FILES.int8);
  const { source, file } = await resolveWithFirst(options.model, candidates, sourceOptions);
  const path = join(source.dir, file);
  const info = await inspectInt8Weights(path);
  const plan = planInt8(file, info, probe);
  const base = { file, weights: info.weights, kernel: probe.kernel, recommended: probe.recommended };
  const fp32File = entry?.onnxFiles.fp32 ?? DEFAULT_ONNX_FILES.fp32;

  const fallback = async (why: string): Promise<ChosenGraph> => {
    if (policy === "keep") {
      warn(`${why}; loading it anyway (unsafeInt8: "keep"): int8 scores will be off`);
      return { path, onnxFile: file, dtype: "int8", int8: { ...base, how: "kept-unsafe", exact: false, reason: `${why}; kept (unsafeInt8: "keep")`, runs: path } };
    }
    let fp32: ResolvedModel;
    try {
      fp32 = await resolveModelSource(options.model, { required: [fp32File] }, { ...sourceOptions, revision: source.revision === "local" ? sourceOptions.revision : source.revision });
    } catch (err) {
      throw new WinnowError("MODEL_LOAD_FAILED", `${why}, and the fp32 graph ${fp32File} to requantize or fall back to is not available (${(err as Error).message}). Fetch it, pass dtype: "fp32", or unsafeInt8: "keep" to accept degraded int8 scores`, {
        details: { field: "dtype", file, fp32File },
        cause: err,
      });
    }
    const fp32Path = join(fp32.dir, fp32File);
    const toFp32 = (reason: string): ChosenGraph => {
      warn(`${reason}; using the fp32 graph ${fp32File} instead`);
      return { path: fp32Path, onnxFile: fp32File, dtype: "fp32", int8: { ...base, how: "fp32-fallback", exact: true, reason: `${reason}; fp32 ${fp32File} instead`, runs: fp32Path } };
    };
    if (policy === "fp32") return toFp32(why);
    if (!probe.int8Exact || !schemeIsExact(probe, probe.recommended)) return toFp32(`${why}, and no int8 weight scheme is exact on this CPU`);
    try {
      const q = await requantizeCached(fp32Path, probe.recommended, info.perChannel, options.int8CacheDir ?? int8CacheDir());
      const reason = `${why}; ${fp32File} quantized here with ${probe.recommended} weights${info.perChannel ? " per channel" : ""} (exact on this CPU), ${q.created ? "cached at" : "from the cache"} ${q.path}`;
      return { path: q.path, onnxFile: file, dtype: "int8", int8: { ...base, how: "requantized", exact: true, reason, runs: q.path }, onSessionError: async () => toFp32(`${why}; ONNX Runtime rejected the requantized graph`) };
    } catch (err) {
      return toFp32(`${why}; requantizing ${fp32File} failed (${(err as Error).message})`);
    }
  };

  if (plan.action === "load") return { source, graph: { path, onnxFile: file, dtype: "int8", int8: { ...base, how: "as-published", exact: true, reason: plan.reason, runs: path } } };
  if (plan.action === "precision-mode") {
    return {
      source,
      graph: {
        path,
        onnxFile: file,
        dtype: "int8",
        x64QuantPrecision: true,
        int8: { ...base, how: "precision-mode", exact: true, reason: plan.reason, runs: path },
        onSessionError: () => fallback(`${plan.reason.split(";")[0]}; ONNX Runtime could not convert them at load`),
      },
    };
  }
  return { source, graph: await fallback(plan.reason) };
}

export async function loadCrossEncoder(options: CrossEncoderModelOptions): Promise<LoadedCrossEncoder> {
  const entry = catalogueEntry(options.model);
  // Without a dtype, the file follows the provider: int8 (where published) on the CPU, fp16 or fp32 on an accelerator.
  const requested: Dtype = options.dtype ?? defaultDtypeFor(resolveExecutionProviders(options), entry?.defaultDtype, entry?.onnxFiles.fp16 !== undefined);
  if (requested !== "fp32" && requested !== "int8" && requested !== "fp16") {
    throw new WinnowError("CONFIG_INVALID", `dtype must be "fp32", "int8" or "fp16", got "${String(requested)}"`, { details: { field: "dtype" } });
  }
  const sourceOptions: ModelSourceOptions = { revision: options.revision, cacheDir: options.cacheDir, offline: options.offline, signal: options.signal, onDownload: options.onDownload };
  let source: ResolvedModel;
  let graph: ChosenGraph;
  if (requested === "int8") ({ source, graph } = await chooseInt8Graph(options, entry, sourceOptions));
  else {
    const onnxFile = options.onnxFile ?? entry?.onnxFiles[requested] ?? DEFAULT_ONNX_FILES[requested];
    source = await resolveModelSource(options.model, { required: ["config.json", "tokenizer.json", onnxFile], optional: ["tokenizer_config.json", "special_tokens_map.json"] }, sourceOptions);
    graph = { path: join(source.dir, onnxFile), onnxFile, dtype: requested };
  }
  const config = readJson<ModelConfigJson>(join(source.dir, "config.json"), "model config");
  const causal = (config.architectures ?? []).find((a) => a.endsWith("ForCausalLM"));
  if (causal) {
    throw new WinnowError("MODEL_LOAD_FAILED", `${join(source.dir, "config.json")}: ${causal} is a decoder, not a sequence-classification cross-encoder; load it with the cross-encoder reranker spec (it routes decoders) or DecoderReranker`, {
      details: { field: "architectures", architecture: causal },
    });
  }
  const tokenizerJson = readJson<{ post_processor?: null }>(join(source.dir, "tokenizer.json"), "tokenizer");
  checkVocabulary(tokenizerJson as Parameters<typeof checkVocabulary>[0], config.vocab_size, join(source.dir, "tokenizer.json"), join(source.dir, "config.json"));
  const tcPath = join(source.dir, "tokenizer_config.json");
  const tokenizerConfig = existsSync(tcPath) ? readJson<{ model_max_length?: number; pad_token?: string | { content: string } }>(tcPath, "tokenizer config") : {};

  const modelMaxLength = Math.min(architectureMaxLength(config, tokenizerConfig), entry?.maxLength ?? Infinity);
  let maxLength: number;
  if (options.maxLength !== undefined) {
    if (!Number.isInteger(options.maxLength) || options.maxLength < 8) {
      throw new WinnowError("CONFIG_INVALID", `maxLength must be an integer ≥ 8, got ${String(options.maxLength)}`, { details: { field: "maxLength", min: 8 } });
    }
    if (options.maxLength > modelMaxLength) {
      throw new WinnowError("CONFIG_INVALID", `maxLength ${options.maxLength} exceeds what ${options.model} takes (${modelMaxLength} tokens)`, { details: { field: "maxLength", max: modelMaxLength } });
    }
    maxLength = options.maxLength;
  } else {
    maxLength = Math.min(modelMaxLength, DEFAULT_MAX_LENGTH_CAP);
  }
  const numLabels = numLabelsOf(config, join(source.dir, "config.json"));

  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
  } catch (err) {
    throw new WinnowError("MODEL_LOAD_FAILED", `cannot build tokenizer from ${join(source.dir, "tokenizer.json")}: ${(err as Error).message}`, { cause: err });
  }
  const template = pairTemplateFromTokenizerJson(tokenizerJson, join(source.dir, "tokenizer.json"));
  const encoder = new PairEncoder(tokenizer, template, maxLength, options.maxQueryTokens ?? DEFAULT_MAX_QUERY_TOKENS);
  const padToken = typeof tokenizerConfig.pad_token === "string" ? tokenizerConfig.pad_token : tokenizerConfig.pad_token?.content;
  const padId = (padToken !== undefined ? tokenizer.token_to_id(padToken) : undefined) ?? config.pad_token_id ?? 0;
  let session: PairSession | undefined;
  while (!session) {
    try {
      session = await PairSession.create(graph.path, numLabels, padId, { ...options, x64QuantPrecision: graph.x64QuantPrecision });
    } catch (err) {
      // An int8 choice ONNX Runtime refuses (its s8→u8 rewrite failing, say) falls back as the policy says.
      if (!graph.onSessionError || !(err instanceof WinnowError) || err.code !== "MODEL_LOAD_FAILED") throw err;
      graph = await graph.onSessionError();
    }
  }
  return { source, dtype: graph.dtype, onnxFile: graph.onnxFile, int8: graph.int8, maxLength, modelMaxLength, numLabels, catalogue: entry, encoder, session };
}
