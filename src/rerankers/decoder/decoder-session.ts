import { cpus } from "node:os";
import type { InferenceSession as OrtSession } from "onnxruntime-node";
import { WinnowError } from "../../core/errors.js";
import type { PairUnit } from "../cross-encoder/pair-encoder.js";
import { ortSessionOptions, type RuntimeOptions } from "../cross-encoder/execution-providers.js";
import { lastPositionGraph } from "../../onnx/decoder-last-position.js";

export interface DecoderSessionOptions extends RuntimeOptions {
  /**
   * Rewrite the graph at load so the lm_head reads only the last position (default on;
   * src/onnx/decoder-last-position.ts): same scores, without [batch, seq, vocab] logits.
   */
  lastPositionOnly?: boolean;
}

/** Whether a session runs the last-position rewrite, and if not, why. */
export type LastPositionState = { enabled: true } | { enabled: false; reason: string };

type Ort = typeof import("onnxruntime-node");
let ortModule: Promise<Ort> | undefined;
function loadOrt(): Promise<Ort> {
  ortModule ??= import("onnxruntime-node");
  return ortModule;
}

export interface DecoderGraphShape {
  kvHeads: number;
  headDim: number;
  /** Rows of the logits (embedding rows): label ids must be below this. */
  vocabRows: number;
}

/**
 * An ONNX Runtime session for a decoder export (input_ids, attention_mask, position_ids,
 * past_key_values.*; logits [batch, seq, vocab]). A reranker reads every prompt whole, so
 * the caches are fed empty ([batch, kv_heads, 0, head_dim]); rows are left-padded, with
 * position ids counting real tokens from 0, so the last position of every row is its
 * prompt's last token, where the label logits are read. Runs are serialized, as PairSession's.
 */
export class DecoderSession {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  readonly pastNames: readonly string[];
  readonly stats = { runs: 0 };
  /** The encoder attention rewrite (pair-session.ts) is never applied to a causal graph. */
  readonly flashAttention = { enabled: false as const, reason: "decoder graphs keep their causal attention as exported (the flash rewrite covers encoder attention only)" };

  private constructor(
    private readonly ort: Ort,
    private readonly session: OrtSession,
    readonly shape: DecoderGraphShape,
    readonly padId: number,
    readonly path: string,
    readonly lastPosition: LastPositionState,
  ) {
    const names = session.inputNames;
    for (const required of ["input_ids", "attention_mask"]) {
      if (!names.includes(required)) throw new WinnowError("MODEL_LOAD_FAILED", `${path}: decoder graph has no ${required} input (inputs: ${names.join(", ")})`, { details: { path } });
    }
    this.pastNames = names.filter((n) => n.startsWith("past_key_values."));
    const unknown = names.filter((n) => !["input_ids", "attention_mask", "position_ids"].includes(n) && !this.pastNames.includes(n));
    if (unknown.length > 0) throw new WinnowError("MODEL_LOAD_FAILED", `${path}: decoder graph inputs ${unknown.join(", ")} are not ones Winnow feeds (input_ids, attention_mask, position_ids, past_key_values.*)`, { details: { path, inputs: names } });
    if (!session.outputNames.includes("logits")) throw new WinnowError("MODEL_LOAD_FAILED", `${path}: decoder graph has no logits output`, { details: { path } });
  }

  static async create(path: string, shape: DecoderGraphShape, padId: number, options: DecoderSessionOptions = {}): Promise<DecoderSession> {
    const ort = await loadOrt();
    const threads = options.threads ?? Math.max(1, cpus().length);
    const sessionOptions = ortSessionOptions(options, threads);
    let session: OrtSession | undefined;
    let last: LastPositionState;
    if (options.lastPositionOnly === false) last = { enabled: false, reason: "turned off (lastPositionOnly: false)" };
    else {
      const graph = await lastPositionGraph(path);
      if ("reason" in graph) last = { enabled: false, reason: graph.reason };
      else {
        try {
          session = await ort.InferenceSession.create(graph.path, sessionOptions);
          last = { enabled: true };
        } catch (err) {
          last = { enabled: false, reason: `ONNX Runtime rejected the rewritten graph: ${(err as Error).message}` };
        } finally {
          await graph.cleanup();
        }
      }
    }
    try {
      session ??= await ort.InferenceSession.create(path, sessionOptions);
    } catch (err) {
      throw new WinnowError("MODEL_LOAD_FAILED", `cannot load ONNX model ${path}: ${(err as Error).message}`, { details: { path }, cause: err });
    }
    return new DecoderSession(ort, session, shape, padId, path, last);
  }

  /** For each unit of `batch`: the logits of `labelIds` at its last token, row after row. */
  run(units: readonly PairUnit[], batch: readonly number[], labelIds: readonly number[]): Promise<Float32Array> {
    const result = this.queue.then(() => this.runNow(units, batch, labelIds));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async runNow(units: readonly PairUnit[], batch: readonly number[], labelIds: readonly number[]): Promise<Float32Array> {
    if (this.closed) throw new WinnowError("ABORTED", "decoder session was closed");
    let width = 0;
    for (const u of batch) width = Math.max(width, units[u].tokens);
    const b = batch.length;
    const ids = new BigInt64Array(b * width).fill(BigInt(this.padId));
    const mask = new BigInt64Array(b * width);
    // Padding positions get 1, as transformers' position_ids.masked_fill_(mask == 0, 1).
    const positions = new BigInt64Array(b * width).fill(1n);
    for (let r = 0; r < b; r++) {
      const unit = units[batch[r]];
      const offset = r * width + (width - unit.tokens);
      for (let k = 0; k < unit.tokens; k++) {
        ids[offset + k] = BigInt(unit.ids[k]);
        mask[offset + k] = 1n;
        positions[offset + k] = BigInt(k);
      }
    }
    const feeds: Record<string, InstanceType<Ort["Tensor"]>> = {
      input_ids: new this.ort.Tensor("int64", ids, [b, width]),
      attention_mask: new this.ort.Tensor("int64", mask, [b, width]),
    };
    if (this.session.inputNames.includes("position_ids")) feeds.position_ids = new this.ort.Tensor("int64", positions, [b, width]);
    const empty = new Float32Array(0);
    for (const name of this.pastNames) feeds[name] = new this.ort.Tensor("float32", empty, [b, this.shape.kvHeads, 0, this.shape.headDim]);
    this.stats.runs++;
    let out;
    try {
      out = await this.session.run(feeds, ["logits"]);
    } catch (err) {
      throw new WinnowError("INTERNAL", `ONNX Runtime failed on a decoder batch of ${b}×${width}: ${(err as Error).message}`, { cause: err });
    }
    const logits = out.logits;
    const data = logits.data as Float32Array;
    const dims = logits.dims;
    // Full exports give [b, seq, vocab]; graphs rewritten to the last position give [b, 1, vocab] or [b, vocab].
    const vocab = dims[dims.length - 1];
    const steps = dims.length === 3 ? dims[1] : 1;
    if (dims[0] !== b || data.length !== b * steps * vocab) {
      throw new WinnowError("MODEL_LOAD_FAILED", `${this.path}: logits have shape [${dims.join(", ")}], expected [${b}, ${width}, vocab]`, { details: { dims } });
    }
    const result = new Float32Array(b * labelIds.length);
    for (let r = 0; r < b; r++) {
      const base = (r * steps + steps - 1) * vocab;
      for (let j = 0; j < labelIds.length; j++) result[r * labelIds.length + j] = data[base + labelIds[j]];
    }
    logits.dispose?.();
    return result;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.session.release();
  }
}
