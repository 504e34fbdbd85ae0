import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { WinnowError } from "../../core/errors.js";
import { resolveModelSource, type ResolvedModel } from "../../models/model-source.js";
import { catalogueEntry, DEFAULT_ONNX_FILES, type CatalogueEntry, type Dtype } from "./catalogue.js";
import { DEFAULT_MAX_QUERY_TOKENS, PairEncoder } from "./pair-encoder.js";
import { PairSession, type PairSessionOptions } from "./pair-session.js";
import { pairTemplateFromTokenizerJson } from "./pair-template.js";

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
}

export interface LoadedCrossEncoder {
  source: ResolvedModel;
  dtype: Dtype;
  onnxFile: string;
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

export async function loadCrossEncoder(options: CrossEncoderModelOptions): Promise<LoadedCrossEncoder> {
  const entry = catalogueEntry(options.model);
  const dtype: Dtype = options.dtype ?? entry?.defaultDtype ?? "fp32";
  if (dtype !== "fp32" && dtype !== "int8") {
    throw new WinnowError("CONFIG_INVALID", `dtype must be "fp32" or "int8", got "${String(dtype)}"`, { details: { field: "dtype" } });
  }
  const onnxFile = options.onnxFile ?? entry?.onnxFiles[dtype] ?? DEFAULT_ONNX_FILES[dtype];
  const source = await resolveModelSource(
    options.model,
    { required: ["config.json", "tokenizer.json", onnxFile], optional: ["tokenizer_config.json", "special_tokens_map.json"] },
    { revision: options.revision, cacheDir: options.cacheDir, offline: options.offline, signal: options.signal, onDownload: options.onDownload },
  );
  const config = readJson<ModelConfigJson>(join(source.dir, "config.json"), "model config");
  const tokenizerJson = readJson<{ post_processor?: null }>(join(source.dir, "tokenizer.json"), "tokenizer");
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
  const session = await PairSession.create(join(source.dir, onnxFile), numLabels, padId, options);
  return { source, dtype, onnxFile, maxLength, modelMaxLength, numLabels, catalogue: entry, encoder, session };
}
