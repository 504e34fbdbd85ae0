import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { WinnowError } from "../../core/errors.js";
import { resolveModelSource, type ModelSourceOptions, type ResolvedModel } from "../../models/model-source.js";
import { probeInt8Kernels, type Int8KernelProbe } from "../../onnx/int8-kernel-probe.js";
import { inspectInt8Weights } from "../../onnx/int8-weights.js";
import { catalogueEntry, DEFAULT_ONNX_FILES, type CatalogueEntry, type Dtype } from "../cross-encoder/catalogue.js";
import { planInt8 } from "../cross-encoder/int8-model.js";
import { defaultDtypeFor, resolveExecutionProviders } from "../cross-encoder/execution-providers.js";
import { checkVocabulary } from "../cross-encoder/vocab-check.js";
import { decoderTemplate, type DecoderTemplate } from "./decoder-template.js";
import { DecoderPromptEncoder, DEFAULT_DECODER_MAX_QUERY_TOKENS } from "./decoder-prompt-encoder.js";
import { DecoderSession, type DecoderSessionOptions } from "./decoder-session.js";

export interface DecoderModelOptions extends DecoderSessionOptions {
  /** Hub id (`Qwen/Qwen3-Reranker-0.6B` with an ONNX export) or a local folder. */
  model: string;
  /** fp32 (default on the CPU), int8, or fp16; the file per dtype comes from the catalogue, else the HF names. */
  dtype?: Dtype;
  onnxFile?: string;
  /** The prompt the model was trained with: config.json's `rerank_template`, else the catalogue's; this overrides both. */
  template?: string;
  revision?: string;
  cacheDir?: string;
  offline?: boolean;
  /** Longest prompt in tokens (default: the model's, capped at 1024: decoder attention is quadratic). */
  maxLength?: number;
  maxQueryTokens?: number;
  signal?: AbortSignal;
  onDownload?: (file: string) => void;
  int8Probe?: Int8KernelProbe;
  onWarning?: (message: string) => void;
}

export interface LoadedDecoder {
  source: ResolvedModel;
  dtype: Dtype;
  onnxFile: string;
  maxLength: number;
  modelMaxLength: number;
  template: DecoderTemplate;
  /** Token ids of the negative and positive labels, in that order. */
  labelIds: [number, number];
  catalogue?: CatalogueEntry;
  encoder: DecoderPromptEncoder;
  session: DecoderSession;
}

export const DEFAULT_DECODER_MAX_LENGTH = 1024;

interface DecoderConfigJson {
  architectures?: string[];
  model_type?: string;
  hidden_size?: number;
  num_attention_heads?: number;
  num_key_value_heads?: number;
  head_dim?: number;
  vocab_size?: number;
  max_position_embeddings?: number;
  rerank_template?: string;
  pad_token_id?: number;
}

function readJson<T>(path: string, what: string): T {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch (err) {
    throw new WinnowError("MODEL_LOAD_FAILED", `cannot read ${what} ${path}: ${(err as Error).message}`, { details: { path }, cause: err });
  }
}

/** Whether a config.json describes a decoder (a *ForCausalLM architecture). */
export function isDecoderConfig(config: { architectures?: unknown }): boolean {
  return Array.isArray(config.architectures) && config.architectures.some((a) => typeof a === "string" && a.endsWith("ForCausalLM"));
}

/** The one token id of `label`, or a one-line error naming the tokenizer file. */
function labelId(tokenizer: Tokenizer, label: string, where: string, template: string): number {
  const ids = tokenizer.encode(label, { add_special_tokens: false }).ids;
  if (ids.length !== 1) {
    throw new WinnowError("MODEL_LOAD_FAILED", `${where}: the ${template} label "${label}" is ${ids.length} tokens, not one: this tokenizer is not the one the template was trained with`, { details: { file: where, label } });
  }
  return ids[0];
}

export async function loadDecoder(options: DecoderModelOptions): Promise<LoadedDecoder> {
  const entry = catalogueEntry(options.model);
  const warn = options.onWarning ?? ((m: string) => process.stderr.write(`winnow: warning: ${m}\n`));
  let dtype: Dtype = options.dtype ?? defaultDtypeFor(resolveExecutionProviders(options), entry?.defaultDtype, entry?.onnxFiles.fp16 !== undefined);
  if (dtype !== "fp32" && dtype !== "int8" && dtype !== "fp16") {
    throw new WinnowError("CONFIG_INVALID", `dtype must be "fp32", "int8" or "fp16", got "${String(dtype)}"`, { details: { field: "dtype" } });
  }
  const sourceOptions: ModelSourceOptions = { revision: options.revision, cacheDir: options.cacheDir, offline: options.offline, signal: options.signal, onDownload: options.onDownload };
  let onnxFile = options.onnxFile ?? entry?.onnxFiles[dtype] ?? DEFAULT_ONNX_FILES[dtype];
  // Exports over 2 GB keep their weights beside the graph (model.onnx_data): fetched when the repo has it.
  const files = (f: string) => ({ required: ["config.json", "tokenizer.json", f], optional: ["tokenizer_config.json", "special_tokens_map.json", `${f}_data`] });
  let source = await resolveModelSource(options.model, files(onnxFile), sourceOptions);
  if (dtype === "int8") {
    const probe = options.int8Probe ?? (await probeInt8Kernels());
    const plan = planInt8(onnxFile, await inspectInt8Weights(join(source.dir, onnxFile)), probe);
    if (plan.action !== "load") {
      // Decoder int8 graphs are not requantized here (their fp32 graphs run to gigabytes): fp32, said so.
      warn(`${plan.reason}; using the fp32 graph instead`);
      dtype = "fp32";
      onnxFile = entry?.onnxFiles.fp32 ?? DEFAULT_ONNX_FILES.fp32;
      source = await resolveModelSource(options.model, files(onnxFile), sourceOptions);
    }
  }
  const configPath = join(source.dir, "config.json");
  const tokenizerPath = join(source.dir, "tokenizer.json");
  const config = readJson<DecoderConfigJson>(configPath, "model config");
  if (!isDecoderConfig(config)) {
    throw new WinnowError("MODEL_LOAD_FAILED", `${configPath}: architectures ${JSON.stringify(config.architectures ?? [])} is not a decoder (*ForCausalLM)`, { details: { field: "architectures" } });
  }
  const templateName = options.template ?? config.rerank_template ?? entry?.template;
  if (templateName === undefined) {
    throw new WinnowError("MODEL_LOAD_FAILED", `${configPath}: no rerank template known for ${options.model} (config.json has no rerank_template and the catalogue has no entry); pass template: "qwen3-reranker" or "mxbai-rerank-v2"`, {
      details: { field: "template" },
    });
  }
  const template = decoderTemplate(templateName, options.template !== undefined ? "template" : config.rerank_template !== undefined ? `${configPath} rerank_template` : "catalogue template");
  const tokenizerJson = readJson<Parameters<typeof checkVocabulary>[0]>(tokenizerPath, "tokenizer");
  checkVocabulary(tokenizerJson, config.vocab_size, tokenizerPath, configPath);
  const tcPath = join(source.dir, "tokenizer_config.json");
  const tokenizerConfig = existsSync(tcPath) ? readJson<{ model_max_length?: number; pad_token?: string | { content: string } }>(tcPath, "tokenizer config") : {};
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(tokenizerJson as object, tokenizerConfig as object);
  } catch (err) {
    throw new WinnowError("MODEL_LOAD_FAILED", `cannot build tokenizer from ${tokenizerPath}: ${(err as Error).message}`, { cause: err });
  }
  const labelIds: [number, number] = [labelId(tokenizer, template.negative, tokenizerPath, template.name), labelId(tokenizer, template.positive, tokenizerPath, template.name)];

  const modelMaxLength = Math.min(config.max_position_embeddings ?? Infinity, entry?.maxLength ?? Infinity);
  const maxLength = options.maxLength ?? Math.min(modelMaxLength, DEFAULT_DECODER_MAX_LENGTH);
  if (!Number.isInteger(maxLength) || maxLength < 64 || maxLength > modelMaxLength) {
    throw new WinnowError("CONFIG_INVALID", `maxLength must be an integer from 64 to ${modelMaxLength} for ${options.model}, got ${String(options.maxLength)}`, { details: { field: "maxLength", min: 64, max: modelMaxLength } });
  }
  const encoder = new DecoderPromptEncoder(tokenizer, template, maxLength, options.maxQueryTokens ?? DEFAULT_DECODER_MAX_QUERY_TOKENS);
  const heads = config.num_attention_heads ?? 0;
  const headDim = config.head_dim ?? (config.hidden_size ?? 0) / Math.max(1, heads);
  const kvHeads = config.num_key_value_heads ?? heads;
  if (!Number.isInteger(headDim) || headDim <= 0 || !Number.isInteger(kvHeads) || kvHeads <= 0) {
    throw new WinnowError("MODEL_LOAD_FAILED", `${configPath}: num_key_value_heads / head_dim (or hidden_size / num_attention_heads) are needed to feed empty caches`, { details: { field: "num_key_value_heads" } });
  }
  const padToken = typeof tokenizerConfig.pad_token === "string" ? tokenizerConfig.pad_token : tokenizerConfig.pad_token?.content;
  const padId = (padToken !== undefined ? tokenizer.token_to_id(padToken) : undefined) ?? config.pad_token_id ?? 0;
  const session = await DecoderSession.create(join(source.dir, onnxFile), { kvHeads, headDim, vocabRows: config.vocab_size ?? Infinity }, padId, options);
  return { source, dtype, onnxFile, maxLength, modelMaxLength, template, labelIds, catalogue: entry, encoder, session };
}
