/**
 * Generates Hugging Face-layout model folders with seeded random weights:
 * config.json, tokenizer files and onnx/model.onnx (+ onnx/model_quantized.onnx
 * for cross-encoders). No model hub is reachable here or in CI, and speed does
 * not depend on weight values, so tests and benchmarks use these.
 *
 * model_quantized.onnx uses the int8 weight scheme exact on the CPU that generates it
 * ("auto": s8 with VNNI, u8 without), recorded in the marker. A cached folder whose
 * scheme is not what this CPU would write is regenerated, so a cache made on a VNNI
 * host and reused on an AVX2 one never serves s8 weights there (and a VNNI host gets
 * its fast s8 back). Folders used directly (`--model DIR`) are checked by the loader.
 */
import { mkdir, readFile, rename, rm } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join, dirname, basename } from "node:path";
import { fileURLToPath } from "node:url";
import { WinnowError } from "../core/errors.js";
import { MODEL_PRESETS, isModelPresetName, type ModelPreset, type ModelPresetName } from "./presets.js";
import { buildModel, createWeights, type WeightMap } from "./bert-graph.js";
import { writeFileAtomic } from "../core/atomic-file.js";
import { saveModel } from "./onnx-graph.js";
import { quantizeModel, resolveWeightScheme } from "./quantize.js";
import type { Int8WeightScheme } from "./int8-kernel-probe.js";
import { bertUncasedTokenizerFiles, xlmrStyleTokenizerFiles } from "./tokenizer-files.js";
import { newArchitecture } from "./qwen-modernbert-architectures.js";
import { addColbertProjection, colbertArtifactMetadata, colbertProjectionWeight, COLBERT_PROJECTION } from "./colbert-graph.js";

/** Bump when generated files change, so cached folders are rebuilt. */
export const GENERATOR_VERSION = 4;
export const DEFAULT_SEED = 42;
/** Written last: a folder without it (or with an older version) is incomplete or stale. */
export const GENERATED_MARKER = "winnow-generated.json";

export interface GenerateModelOptions {
  /** Output folder (created if missing; files in it are replaced atomically one by one). */
  dir: string;
  preset: ModelPresetName;
  seed?: number;
  /** Also write onnx/model_quantized.onnx (int8 dynamic; default true). */
  quantized?: boolean;
  /** Its weight scheme (default "auto": the one exact and fastest on this CPU). */
  int8Weights?: Int8WeightScheme | "auto";
  /**
   * Weights to use instead of seeded random ones (HF names, linear weights [in, out];
   * see createWeights), e.g. from scripts/train-cross-encoder.ts. Recorded in the marker.
   */
  weights?: { map: WeightMap; source: Record<string, unknown> };
}

function checkPreset(preset: string): ModelPreset {
  if (!isModelPresetName(preset)) {
    throw new WinnowError("INVALID_INPUT", `unknown model preset "${preset}" (known: ${Object.keys(MODEL_PRESETS).join(", ")})`, {
      details: { field: "preset", value: preset },
    });
  }
  return MODEL_PRESETS[preset];
}

function checkSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new WinnowError("INVALID_INPUT", `seed must be an integer from 0 to 4294967295, got ${seed}`, { details: { field: "seed", value: seed } });
  }
}

function hfConfig(name: ModelPresetName, preset: ModelPreset, vocabSize: number, padTokenId: number): Record<string, unknown> {
  const classification = preset.head === "sequence-classification";
  const isXlmr = preset.family === "xlmr";
  // ColBERT checkpoints name their class HF_ColBERT (colbert-ir/colbertv2.0's config.json).
  const arch = preset.head === "colbert" ? "HF_ColBERT" : isXlmr ? (classification ? "XLMRobertaForSequenceClassification" : "XLMRobertaModel") : classification ? "BertForSequenceClassification" : "BertModel";
  const labels = Array.from({ length: preset.numLabels }, (_, i) => i);
  return {
    _name_or_path: `winnow-generated/${name}`,
    architectures: [arch],
    model_type: isXlmr ? "xlm-roberta" : "bert",
    attention_probs_dropout_prob: 0.1,
    classifier_dropout: null,
    hidden_act: "gelu",
    hidden_dropout_prob: 0.1,
    hidden_size: preset.hidden,
    initializer_range: 0.02,
    intermediate_size: preset.intermediate,
    layer_norm_eps: preset.layerNormEps,
    max_position_embeddings: preset.maxPositionEmbeddings,
    num_attention_heads: preset.heads,
    num_hidden_layers: preset.layers,
    pad_token_id: padTokenId,
    ...(isXlmr ? { bos_token_id: 0, eos_token_id: 2 } : {}),
    position_embedding_type: "absolute",
    type_vocab_size: isXlmr ? 1 : 2,
    vocab_size: vocabSize,
    use_cache: true,
    torch_dtype: "float32",
    ...(classification
      ? {
          num_labels: preset.numLabels,
          id2label: Object.fromEntries(labels.map((i) => [String(i), `LABEL_${i}`])),
          label2id: Object.fromEntries(labels.map((i) => [`LABEL_${i}`, i])),
        }
      : {}),
  };
}

/** Writes a complete model folder for `preset` into `options.dir`; returns the folder. */
export async function generateModel(options: GenerateModelOptions): Promise<string> {
  const preset = checkPreset(options.preset);
  const seed = options.seed ?? DEFAULT_SEED;
  checkSeed(seed);
  const dir = options.dir;
  await mkdir(join(dir, "onnx"), { recursive: true });
  // ModernBERT and decoder presets bring their own tokenizer, config and graph (qwen-modernbert-architectures.ts).
  const arch = newArchitecture(options.preset, preset, seed, options.weights?.map);
  const tokenizer = arch?.tokenizer ?? (preset.family === "xlmr" ? xlmrStyleTokenizerFiles(512) : bertUncasedTokenizerFiles(512));
  const json = (v: unknown) => JSON.stringify(v, null, 2) + "\n";
  await writeFileAtomic(join(dir, "config.json"), json(arch?.config ?? hfConfig(options.preset, preset, tokenizer.vocabSize, tokenizer.padTokenId)));
  await writeFileAtomic(join(dir, "tokenizer.json"), JSON.stringify(tokenizer["tokenizer.json"]));
  await writeFileAtomic(join(dir, "tokenizer_config.json"), json(tokenizer["tokenizer_config.json"]));
  await writeFileAtomic(join(dir, "special_tokens_map.json"), json(tokenizer["special_tokens_map.json"]));
  if (tokenizer["vocab.txt"] !== undefined) await writeFileAtomic(join(dir, "vocab.txt"), tokenizer["vocab.txt"]);

  const weights = arch ? new Map() : (options.weights?.map ?? createWeights(preset, tokenizer.vocabSize, tokenizer.padTokenId, seed));
  let model = arch?.model ?? buildModel(preset, weights, { padTokenId: tokenizer.padTokenId });
  const files = ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "onnx/model.onnx"];
  if (preset.colbert) {
    if (!weights.has(COLBERT_PROJECTION)) weights.set(COLBERT_PROJECTION, colbertProjectionWeight(preset, preset.colbert.dims, seed));
    model = addColbertProjection(model, weights, preset.colbert.dims);
    await writeFileAtomic(join(dir, "artifact.metadata"), json(colbertArtifactMetadata(options.preset, preset.colbert)));
    files.push("artifact.metadata");
  }
  const modelPath = join(dir, "onnx", "model.onnx");
  await saveModel(modelPath, model);
  if (tokenizer["vocab.txt"] !== undefined) files.push("vocab.txt");
  let int8: { int8Weights: Int8WeightScheme; int8Reason: string } | undefined;
  if (options.quantized ?? true) {
    const scheme = await resolveWeightScheme({ weights: options.int8Weights ?? "auto" });
    await saveModel(join(dir, "onnx", "model_quantized.onnx"), quantizeModel(model, { weights: scheme.weights }));
    files.push("onnx/model_quantized.onnx");
    int8 = { int8Weights: scheme.weights, int8Reason: scheme.reason };
  }
  await writeFileAtomic(join(dir, GENERATED_MARKER), json({ generator: "winnow", version: GENERATOR_VERSION, preset: options.preset, seed, files, ...int8, ...(options.weights ? { weights: options.weights.source } : {}) }));
  return dir;
}

/** `<repo>/.cache/models`, resolved from this file (src/onnx or dist/onnx), not the cwd. */
export function defaultModelCacheDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "..", ".cache", "models");
}

async function isCurrent(dir: string, preset: string, seed: number): Promise<boolean> {
  let marker: Record<string, unknown>;
  try {
    marker = JSON.parse(await readFile(join(dir, GENERATED_MARKER), "utf8")) as Record<string, unknown>;
  } catch {
    return false;
  }
  if (marker.version !== GENERATOR_VERSION || marker.preset !== preset || marker.seed !== seed) return false;
  if (!Array.isArray(marker.files) || !marker.files.includes("onnx/model_quantized.onnx")) return true;
  // Markers written before the scheme was recorded always had s8 weights.
  return (marker.int8Weights ?? "s8") === (await resolveWeightScheme({ weights: "auto" })).weights;
}

const inFlight = new Map<string, Promise<string>>();

export interface EnsureModelOptions {
  /** Where generated folders are cached (default `<repo>/.cache/models`). */
  cacheDir?: string;
  seed?: number;
}

/**
 * The folder of a generated `preset` model, generating it on first use. Safe for
 * concurrent callers (test workers): each generates into its own temp folder and
 * renames it into place; whoever loses the rename uses the winner's folder.
 */
export async function ensureGeneratedModel(preset: ModelPresetName, options: EnsureModelOptions = {}): Promise<string> {
  checkPreset(preset);
  const seed = options.seed ?? DEFAULT_SEED;
  checkSeed(seed);
  const root = options.cacheDir ?? defaultModelCacheDir();
  const dir = join(root, seed === DEFAULT_SEED ? preset : `${preset}-seed${seed}`);
  const pending = inFlight.get(dir);
  if (pending) return pending;
  const work = ensureFolder(dir, preset, seed).finally(() => inFlight.delete(dir));
  inFlight.set(dir, work);
  return work;
}

async function ensureFolder(dir: string, preset: ModelPresetName, seed: number): Promise<string> {
  if (await isCurrent(dir, preset, seed)) return dir;
  const tag = `${process.pid}-${randomBytes(4).toString("hex")}`;
  const tmp = join(dirname(dir), `.${basename(dir)}.tmp-${tag}`);
  try {
    await generateModel({ dir: tmp, preset, seed });
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await rename(tmp, dir);
        return dir;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
        if (await isCurrent(dir, preset, seed)) return dir; // another worker finished first
        // A stale or half-written folder: move it aside (atomic), then retry ours.
        const trash = join(dirname(dir), `.${basename(dir)}.stale-${tag}-${attempt}`);
        await rename(dir, trash).then(
          () => rm(trash, { recursive: true, force: true }),
          () => undefined,
        );
      }
    }
    throw new WinnowError("INTERNAL", `could not publish generated model into ${dir}`, { details: { path: dir } });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
