import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import type { InferenceSession } from "onnxruntime-node";
import { WinnowError, throwIfAborted } from "../../core/errors.js";
import { resolveModelSource, type ModelSourceOptions, type ResolvedModel } from "../../models/model-source.js";
import { colbertCatalogueEntry } from "./catalogue.js";
import { ARTIFACT_METADATA, PYLATE_CONFIG, PYLATE_DENSE_CONFIG, readColbertSettings, type ColbertSettings } from "./colbert-settings.js";
import { ColbertTokenizer, type ColbertInput } from "./colbert-tokenizer.js";
import { normalizeRows, type TokenMatrix } from "./token-matrix.js";

export interface ColbertModelOptions extends ModelSourceOptions {
  /** Hub id (colbert-ir/colbertv2.0) or a local folder in the Hugging Face layout. */
  model: string;
  /** fp32 (onnx/model.onnx) or int8 (onnx/model_quantized.onnx); default fp32. */
  dtype?: "fp32" | "int8";
  /** ONNX file inside the folder, overriding the dtype's default (e.g. vespa_colbert.onnx). */
  onnxFile?: string;
  /** Override the model's query length (artifact.metadata query_maxlen). */
  queryMaxLength?: number;
  /** Override the model's document length (artifact.metadata doc_maxlen). */
  docMaxLength?: number;
  /** Padded tokens per forward pass when encoding documents (default 4096). */
  batchTokens?: number;
  /** Intra-op threads (default: all cores). */
  threads?: number;
  /** Whether ONNX Runtime threads spin between ops (default on; the server turns it off). */
  spinWait?: boolean;
}

export const DEFAULT_COLBERT_BATCH_TOKENS = 4096;
const FP32_FILES = ["onnx/model.onnx", "model.onnx"];
const INT8_FILES = ["onnx/model_quantized.onnx", "onnx/model_int8.onnx", "onnx/model_qint8_avx512_vnni.onnx", "onnx/model_quint8_avx2.onnx"];

type Ort = typeof import("onnxruntime-node");

/**
 * A ColBERT encoder on ONNX Runtime: tokenizes with ColBERT's recipe (colbert-tokenizer.ts),
 * runs the graph, L2-normalizes every token vector (here and only here: a graph that
 * normalizes already is unchanged by it) and, for documents, drops padding and
 * skiplisted tokens' vectors.
 */
export class ColbertEncoder {
  /** Forward passes so far (tests count them: stored vectors must not cause any for documents). */
  readonly stats = { runs: 0, documents: 0, queries: 0 };
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly ort: Ort,
    private readonly session: InferenceSession,
    readonly tokenizer: ColbertTokenizer,
    readonly settings: ColbertSettings,
    readonly source: ResolvedModel,
    readonly onnxFile: string,
    readonly dtype: "fp32" | "int8",
    private readonly outputName: string,
    private readonly batchTokens: number,
    private readonly fingerprint: string,
  ) {}

  get dims(): number {
    return this.settings.dims;
  }

  /**
   * What makes two encoders' vectors interchangeable: model, revision, graph, dims,
   * lengths, and a fingerprint of the graph file and settings (graphFingerprint), so a
   * folder regenerated with other weights under the same path is told apart.
   */
  get identity(): string {
    const s = this.settings;
    return `${this.source.id}@${this.source.revision}/${this.onnxFile}/d${s.dims}/q${s.queryMaxLength}/l${s.docMaxLength}/m${s.attendToMaskTokens ? 1 : 0}#${this.fingerprint}`;
  }

  static async load(options: ColbertModelOptions): Promise<ColbertEncoder> {
    const entry = colbertCatalogueEntry(options.model);
    const dtype = options.dtype ?? "fp32";
    if (dtype !== "fp32" && dtype !== "int8") throw new WinnowError("CONFIG_INVALID", `dtype must be "fp32" or "int8", got ${JSON.stringify(dtype)}`, { details: { field: "dtype" } });
    const candidates = options.onnxFile ? [options.onnxFile] : dtype === "int8" ? [...(entry?.onnxFiles.int8 ? [entry.onnxFiles.int8] : []), ...INT8_FILES] : [...(entry?.onnxFiles.fp32 ? [entry.onnxFiles.fp32] : []), ...FP32_FILES];
    const optional = ["tokenizer_config.json", "special_tokens_map.json", ARTIFACT_METADATA, PYLATE_CONFIG, PYLATE_DENSE_CONFIG];
    const source = await resolveModelSource(options.model, { required: ["tokenizer.json"], optional: ["config.json", ...optional, ...candidates] }, options);
    const onnxFile = candidates.find((f) => existsSync(join(source.dir, f)));
    if (!onnxFile) {
      throw new WinnowError("MODEL_NOT_FOUND", `${source.dir}: no ONNX graph for dtype ${dtype} (looked for ${candidates.join(", ")}); pass onnxFile${entry?.exportHint ? `, or export one: ${entry.exportHint}` : ""}`, {
        details: { field: "onnxFile", path: source.dir, tried: candidates },
      });
    }
    let settings = readColbertSettings(source.dir);
    settings = {
      ...settings,
      queryMaxLength: checkLength(options.queryMaxLength, "queryMaxLength") ?? settings.queryMaxLength,
      docMaxLength: checkLength(options.docMaxLength, "docMaxLength") ?? settings.docMaxLength,
      ...(entry?.markerIds ? { markerIds: entry.markerIds } : {}),
      ...(entry?.attendToMaskTokens !== undefined ? { attendToMaskTokens: entry.attendToMaskTokens } : {}),
    };
    // PyLate exports (colbert-export) ship no config.json: then the lengths are taken as given.
    const configPath = join(source.dir, "config.json");
    const config = existsSync(configPath) ? readJson(configPath) : {};
    const positions = typeof config.max_position_embeddings === "number" ? config.max_position_embeddings : Infinity;
    if (settings.docMaxLength > positions || settings.queryMaxLength > positions) {
      throw new WinnowError("CONFIG_INVALID", `${settings.file}: lengths ${settings.queryMaxLength}/${settings.docMaxLength} exceed ${join(source.dir, "config.json")} max_position_embeddings ${positions}`, { details: { field: "docMaxLength", max: positions } });
    }
    const tokenizerPath = join(source.dir, "tokenizer.json");
    const tcPath = join(source.dir, "tokenizer_config.json");
    const tokenizerConfig = existsSync(tcPath) ? readJson(tcPath) : {};
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(readJson(tokenizerPath), tokenizerConfig);
    } catch (err) {
      throw new WinnowError("MODEL_LOAD_FAILED", `cannot build tokenizer from ${tokenizerPath}: ${(err as Error).message}`, { details: { path: tokenizerPath }, cause: err });
    }
    const tokenName = (v: unknown) => (typeof v === "string" ? v : (v as { content?: string } | undefined)?.content);
    const colbertTokenizer = new ColbertTokenizer(tokenizer, settings, tokenizerPath, tokenName(tokenizerConfig.pad_token), tokenName(tokenizerConfig.mask_token));

    const ort = await import("onnxruntime-node");
    const graphPath = join(source.dir, onnxFile);
    // int8 graphs are checked as the cross-encoder's are (int8-model.ts): weights this CPU's
    // kernels do not multiply exactly are refused, never run into silently wrong vectors.
    let x64QuantPrecision = false;
    if (dtype === "int8") {
      const [{ probeInt8Kernels }, { inspectInt8Weights }, { planInt8 }] = await Promise.all([import("../../onnx/int8-kernel-probe.js"), import("../../onnx/int8-weights.js"), import("../cross-encoder/int8-model.js")]);
      const plan = planInt8(onnxFile, await inspectInt8Weights(graphPath), await probeInt8Kernels());
      if (plan.action === "unsafe") throw new WinnowError("MODEL_LOAD_FAILED", `${graphPath}: ${plan.reason}; use dtype fp32, or quantize the fp32 graph here (winnow quantize)`, { details: { field: "dtype", path: graphPath } });
      x64QuantPrecision = plan.action === "precision-mode";
    }
    let session: InferenceSession;
    try {
      session = await ort.InferenceSession.create(graphPath, {
        graphOptimizationLevel: "all",
        intraOpNumThreads: options.threads ?? Math.max(1, cpus().length),
        interOpNumThreads: 1,
        executionMode: "sequential",
        extra: { session: { intra_op: { allow_spinning: options.spinWait === false ? "0" : "1" }, ...(x64QuantPrecision ? { x64quantprecision: "1" } : {}) } },
      });
    } catch (err) {
      throw new WinnowError("MODEL_LOAD_FAILED", `cannot load ONNX model ${graphPath}: ${(err as Error).message}`, { details: { path: graphPath }, cause: err });
    }
    const outputName = session.outputNames[0];
    const batchTokens = options.batchTokens ?? DEFAULT_COLBERT_BATCH_TOKENS;
    if (!Number.isInteger(batchTokens) || batchTokens < settings.docMaxLength) {
      throw new WinnowError("CONFIG_INVALID", `batchTokens must be an integer ≥ docMaxLength (${settings.docMaxLength}), got ${String(options.batchTokens)}`, { details: { field: "batchTokens", min: settings.docMaxLength } });
    }
    const encoder = new ColbertEncoder(ort, session, colbertTokenizer, settings, source, onnxFile, dtype, outputName, batchTokens, graphFingerprint(graphPath, settings.file));
    await encoder.checkProjection(graphPath, typeof config.hidden_size === "number" ? config.hidden_size : undefined);
    return encoder;
  }

  /** One probe pass: the graph must output [batch, seq, dims]; a hidden-size output means no projection. */
  private async checkProjection(graphPath: string, hidden: number | undefined): Promise<void> {
    const [out] = await this.run([this.tokenizer.document("probe")]);
    const got = out.length / this.tokenizer.document("probe").ids.length;
    this.stats.runs = 0;
    if (got === this.settings.dims) return;
    const why = hidden !== undefined && got === hidden ? `it outputs hidden states (${got} = hidden_size): no ColBERT projection` : `it outputs ${got}-dim token vectors`;
    throw new WinnowError("MODEL_LOAD_FAILED", `${graphPath}: ${why}, but ${this.settings.file} says dim ${this.settings.dims}`, { details: { path: graphPath, dims: got, expected: this.settings.dims } });
  }

  async encodeQuery(text: string, signal?: AbortSignal): Promise<TokenMatrix> {
    throwIfAborted(signal);
    const input = this.tokenizer.query(text);
    const [data] = await this.run([input]);
    normalizeRows(data, this.dims);
    this.stats.queries++;
    return { rows: input.ids.length, dims: this.dims, data };
  }

  /** Token vectors of each text, skiplist and padding dropped; batched by padded tokens, longest first. */
  async encodeDocuments(texts: readonly string[], signal?: AbortSignal): Promise<TokenMatrix[]> {
    const inputs = texts.map((t) => this.tokenizer.document(t));
    const order = inputs.map((_, i) => i).sort((a, b) => inputs[b].ids.length - inputs[a].ids.length);
    const out = new Array<TokenMatrix>(texts.length);
    for (let start = 0; start < order.length; ) {
      throwIfAborted(signal);
      const width = inputs[order[start]].ids.length;
      const rows = Math.max(1, Math.floor(this.batchTokens / width));
      const batch = order.slice(start, start + rows);
      const results = await this.run(batch.map((i) => inputs[i]));
      batch.forEach((i, r) => (out[i] = this.keepScoredTokens(inputs[i], results[r])));
      start += batch.length;
    }
    this.stats.documents += texts.length;
    return out;
  }

  /** The document tokens MaxSim reads: not padding, not in the skiplist (ColBERT's `mask()` in colbert.py). */
  private keepScoredTokens(input: ColbertInput, vectors: Float32Array): TokenMatrix {
    const d = this.dims;
    const skip = this.tokenizer.skiplist;
    let kept = 0;
    for (let t = 0; t < input.ids.length; t++) if (!skip.has(input.ids[t]) && input.ids[t] !== this.tokenizer.padId) kept++;
    const data = new Float32Array(kept * d);
    let row = 0;
    for (let t = 0; t < input.ids.length; t++) {
      if (skip.has(input.ids[t]) || input.ids[t] === this.tokenizer.padId) continue;
      data.set(vectors.subarray(t * d, (t + 1) * d), row * d);
      row++;
    }
    normalizeRows(data, d);
    return { rows: kept, dims: d, data };
  }

  /** Runs one padded batch; returns each row's [seq × dims] output, trimmed to its own length. */
  private async run(batch: readonly ColbertInput[]): Promise<Float32Array[]> {
    const work = this.queue.then(() => this.runNow(batch));
    this.queue = work.catch(() => undefined);
    return work;
  }

  private async runNow(batch: readonly ColbertInput[]): Promise<Float32Array[]> {
    const width = Math.max(...batch.map((b) => b.ids.length));
    const n = batch.length;
    const ids = new BigInt64Array(n * width).fill(BigInt(this.tokenizer.padId));
    const mask = new BigInt64Array(n * width);
    batch.forEach((b, r) => {
      for (let k = 0; k < b.ids.length; k++) {
        ids[r * width + k] = BigInt(b.ids[k]);
        mask[r * width + k] = BigInt(b.attention[k]);
      }
    });
    const feeds: Record<string, InstanceType<Ort["Tensor"]>> = {};
    for (const name of this.session.inputNames) {
      const data = name === "input_ids" ? ids : name === "attention_mask" ? mask : new BigInt64Array(n * width);
      feeds[name] = new this.ort.Tensor("int64", data, [n, width]);
    }
    const result = await this.session.run(feeds, [this.outputName]);
    this.stats.runs++;
    const out = result[this.outputName].data as Float32Array;
    const per = out.length / (n * width);
    return batch.map((b, r) => out.slice(r * width * per, (r * width + b.ids.length) * per));
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/** sha256 over the graph's size, its first and last 64 KiB (the projection is the last initializer) and the settings file. */
function graphFingerprint(graph: string, settingsFile: string): string {
  const size = statSync(graph).size;
  const hash = createHash("sha256").update(String(size)).update(readFileSync(settingsFile));
  const fd = openSync(graph, "r");
  try {
    const edge = Math.min(size, 1 << 16);
    const buf = Buffer.alloc(edge);
    readSync(fd, buf, 0, edge, 0);
    hash.update(buf);
    readSync(fd, buf, 0, edge, size - edge);
    hash.update(buf);
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex").slice(0, 16);
}

function checkLength(value: number | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 8 || value > 8192) throw new WinnowError("CONFIG_INVALID", `${field} must be an integer from 8 to 8192, got ${String(value)}`, { details: { field, min: 8, max: 8192 } });
  return value;
}

function readJson(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new WinnowError("MODEL_LOAD_FAILED", `cannot read ${path}: ${(err as Error).message}`, { details: { path }, cause: err });
  }
}
