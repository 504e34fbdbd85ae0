import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import type { InferenceSession } from "onnxruntime-node";
import { InvalidInputError, WinnowError } from "../../core/errors.js";
import { resolveModelSource } from "../../models/model-source.js";
import { l2Normalize } from "../vector/exact-vector-index.js";
import { withPrefix, type Embedder, type EmbedderSpec, type EmbeddingTextOptions } from "./embedder.js";

export interface OnnxEmbedderOptions extends EmbeddingTextOptions {
  /** Hub id or local folder in the Hugging Face layout (config.json, tokenizer.json, onnx/model.onnx). */
  model: string;
  onnxFile?: string;
  /** `mean` over non-padding tokens (sentence-transformers default) or the `cls` token. */
  pooling?: "mean" | "cls";
  /** Longest input in tokens (default 256). */
  maxLength?: number;
  threads?: number;
  revision?: string;
  cacheDir?: string;
  offline?: boolean;
}

/**
 * A bi-encoder on ONNX Runtime: tokenize, run the encoder, pool `last_hidden_state`,
 * normalize. Model files are found by the same resolver as the cross-encoder (folder,
 * hub cache, download), so `--model` means the same everywhere.
 */
export class OnnxEmbedder implements Embedder {
  readonly id: string;
  readonly spec: EmbedderSpec;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly options: OnnxEmbedderOptions,
    private readonly ort: typeof import("onnxruntime-node"),
    private readonly session: InferenceSession,
    private readonly tokenizer: Tokenizer,
    private readonly padId: number,
    sourceId: string,
    revision: string,
  ) {
    this.spec = { type: "onnx", ...options };
    this.id = `onnx:${sourceId}@${revision}:${options.pooling ?? "mean"}:${options.maxLength ?? 256}:${options.queryPrefix ?? ""}:${options.documentPrefix ?? ""}`;
  }

  static async load(options: OnnxEmbedderOptions): Promise<OnnxEmbedder> {
    const pooling = options.pooling ?? "mean";
    if (pooling !== "mean" && pooling !== "cls") throw new InvalidInputError(`embedder.pooling must be "mean" or "cls", got ${String(pooling)}`, { field: "embedder.pooling" });
    const maxLength = options.maxLength ?? 256;
    if (!Number.isInteger(maxLength) || maxLength < 2 || maxLength > 8192) throw new InvalidInputError(`embedder.maxLength must be an integer in 2..8192`, { field: "embedder.maxLength" });
    const onnxFile = options.onnxFile ?? "onnx/model.onnx";
    const source = await resolveModelSource(options.model, { required: ["tokenizer.json", onnxFile], optional: ["tokenizer_config.json", "config.json"] }, options);
    const read = (f: string) => {
      try {
        return JSON.parse(readFileSync(join(source.dir, f), "utf8")) as Record<string, unknown>;
      } catch {
        return {};
      }
    };
    const tokenizerConfig = read("tokenizer_config.json");
    const tokenizer = new Tokenizer(read("tokenizer.json"), tokenizerConfig);
    const pad = tokenizerConfig.pad_token;
    const padToken = typeof pad === "string" ? pad : (pad as { content?: string } | undefined)?.content;
    const padId = (padToken ? tokenizer.token_to_id(padToken) : undefined) ?? (read("config.json").pad_token_id as number | undefined) ?? 0;
    const ort = await import("onnxruntime-node");
    let session: InferenceSession;
    try {
      session = await ort.InferenceSession.create(join(source.dir, onnxFile), { intraOpNumThreads: options.threads ?? Math.max(1, cpus().length), graphOptimizationLevel: "all" });
    } catch (err) {
      throw new WinnowError("MODEL_LOAD_FAILED", `cannot load ONNX model ${join(source.dir, onnxFile)}: ${(err as Error).message}`, { cause: err });
    }
    if (!session.outputNames.includes("last_hidden_state") && session.outputNames.length !== 1) {
      throw new WinnowError("MODEL_LOAD_FAILED", `${options.model}: expected a last_hidden_state output, got ${session.outputNames.join(", ")}`);
    }
    return new OnnxEmbedder({ ...options, pooling, maxLength, onnxFile }, ort, session, tokenizer, padId, source.id, source.revision);
  }

  async embed(texts: readonly string[], kind: "query" | "document"): Promise<Float32Array[]> {
    const inputs = withPrefix(texts, kind, this.options);
    const batchSize = this.options.batchSize ?? 32;
    const out: Float32Array[] = [];
    for (let i = 0; i < inputs.length; i += batchSize) {
      const batch = inputs.slice(i, i + batchSize);
      // One run at a time: ONNX Runtime already uses every core for one run.
      const run = this.queue.then(() => this.runBatch(batch));
      this.queue = run.catch(() => undefined);
      out.push(...(await run));
    }
    return out;
  }

  private async runBatch(texts: string[]): Promise<Float32Array[]> {
    const maxLength = this.options.maxLength!;
    const encoded = texts.map((t): number[] => {
      const ids: number[] = Array.from(this.tokenizer.encode(t).ids as ArrayLike<number>);
      // Keep the closing special token when truncating (it is part of what the model was trained on).
      return ids.length <= maxLength ? ids : [...ids.slice(0, maxLength - 1), ids[ids.length - 1]];
    });
    const width = Math.max(1, ...encoded.map((e) => e.length));
    const n = texts.length;
    const ids = new BigInt64Array(n * width).fill(BigInt(this.padId));
    const mask = new BigInt64Array(n * width);
    encoded.forEach((e, r) => e.forEach((id, k) => {
      ids[r * width + k] = BigInt(id);
      mask[r * width + k] = 1n;
    }));
    const feeds: Record<string, InstanceType<typeof this.ort.Tensor>> = {};
    for (const name of this.session.inputNames) {
      const data = name === "input_ids" ? ids : name === "attention_mask" ? mask : new BigInt64Array(n * width);
      feeds[name] = new this.ort.Tensor("int64", data, [n, width]);
    }
    const outName = this.session.outputNames.includes("last_hidden_state") ? "last_hidden_state" : this.session.outputNames[0];
    const result = await this.session.run(feeds, [outName]);
    const hidden = result[outName].data as Float32Array;
    const dim = hidden.length / (n * width);
    return encoded.map((e, r) => {
      const v = new Float32Array(dim);
      if (this.options.pooling === "cls") {
        v.set(hidden.subarray(r * width * dim, r * width * dim + dim));
      } else {
        for (let k = 0; k < e.length; k++) {
          const off = (r * width + k) * dim;
          for (let j = 0; j < dim; j++) v[j] += hidden[off + j];
        }
        for (let j = 0; j < dim; j++) v[j] /= Math.max(1, e.length);
      }
      return this.options.normalize === false ? v : l2Normalize(v);
    });
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
