import { mkdtemp, rm, stat } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import type { InferenceSession as OrtSession } from "onnxruntime-node";
import { WinnowError } from "../../core/errors.js";
import { fuseModel } from "../../onnx/fuse.js";
import { readModelSkeleton, writeModelWithNodes } from "../../onnx/model-splice.js";
import type { PairUnit } from "./pair-encoder.js";
import { floatOutput, ortSessionOptions, resolveExecutionProviders } from "./execution-providers.js";

/**
 * An ONNX Runtime session for a sequence-classification graph, fed padded int64
 * batches of pair units. Input buffers are pooled (one BigInt64Array per input name,
 * grown on demand and viewed at the batch's size) so a request allocates no tensor
 * memory after warm-up, and runs are serialized: ONNX Runtime already spreads one
 * run over all intra-op threads, so concurrent runs would only fight for the cores.
 */

export interface PairSessionOptions {
  /** Intra-op threads (default: all cores). */
  threads?: number;
  /** ONNX Runtime execution provider name (the older, single-provider form of `executionProviders`). */
  executionProvider?: string;
  /**
   * Providers in order of preference: "cpu" (default), "cuda", "tensorrt", "dml", "coreml",
   * "webgpu", where this onnxruntime-node build has them; "cpu" is appended as the fallback
   * for ops a provider lacks. See execution-providers.ts.
   */
  executionProviders?: readonly string[];
  /**
   * ONNX Runtime's CPU memory arena and memory-pattern planner (default on). They keep
   * the buffers of the largest batch for reuse; token-budget batching already bounds that
   * batch, so they do not raise peak RSS (measured at 4096 tokens: int8 678 MB on and
   * off, fp32 679 MB on vs 763 MB off), while turning them off made every run allocate
   * and fault in fresh pages: pairs/s fell from 17.2 to 3.6 (int8) and 4.2 to 2.0 (fp32).
   */
  memoryArena?: boolean;
  /**
   * Whether ONNX Runtime's intra-op threads spin while waiting for work (its default,
   * and ours: on). Spinning is faster when the cores are Winnow's alone (MiniLM-L6 int8,
   * SciFact pairs, 2 threads: 15 vs 17 ms per pair) and much slower when something else
   * needs a core, because every parallel op waits for a descheduled spinner (37 vs 22 ms
   * per pair with one core busy). `winnow serve` turns it off: its HTTP thread competes.
   */
  spinWait?: boolean;
  /**
   * Rewrite the graph's attention at load so that batches without padding (one pair, or
   * pairs of equal length) run ONNX Runtime's `MultiHeadAttention` without a mask, which
   * on the CPU is a flash-attention kernel (it has none for masked attention); padded
   * batches take the attention as exported. Each layer's attention becomes an `If` on
   * "attention_mask is all ones", so it is one graph and one copy of the weights.
   * Default: on for the CPU provider, for single-file models up to 1 GiB whose attention
   * the rewrite recognizes (BERT / RoBERTa / XLM-R exports); otherwise off, with the
   * reason in `flashAttention`. Measured: docs/cross-encoder.md.
   */
  flashAttention?: boolean;
}

/** Above this the graph is loaded as exported: the rewrite writes a temporary copy of the model file. */
export const FLASH_ATTENTION_MAX_MODEL_BYTES = 1 << 30;

/** Whether a session runs the flash-attention rewrite, and if not, why. */
export type FlashAttentionState = { enabled: true } | { enabled: false; reason: string };

type Ort = typeof import("onnxruntime-node");
let ortModule: Promise<Ort> | undefined;
/** Loaded lazily so that commands which never rerank never load the native addon. */
function loadOrt(): Promise<Ort> {
  ortModule ??= import("onnxruntime-node");
  return ortModule;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const KNOWN_INPUTS = new Set(["input_ids", "attention_mask", "token_type_ids"]);

export class PairSession {
  readonly inputNames: readonly string[];
  readonly outputName: string;
  readonly takesTokenTypeIds: boolean;
  private pools = new Map<string, BigInt64Array>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Forward passes so far, and how many of them were unpadded (flash attention, when enabled). */
  readonly stats = { runs: 0, unpaddedRuns: 0 };

  private constructor(
    private readonly ort: Ort,
    private readonly session: OrtSession,
    readonly numLabels: number,
    readonly padId: number,
    readonly flashAttention: FlashAttentionState,
  ) {
    this.inputNames = session.inputNames;
    this.outputName = session.outputNames.includes("logits") ? "logits" : session.outputNames[0];
    this.takesTokenTypeIds = this.inputNames.includes("token_type_ids");
    const unknown = this.inputNames.filter((n) => !KNOWN_INPUTS.has(n));
    if (unknown.length > 0 || !this.inputNames.includes("input_ids")) {
      throw new WinnowError("MODEL_LOAD_FAILED", `ONNX graph inputs ${this.inputNames.join(", ")} are not a sequence-classification signature (input_ids, attention_mask[, token_type_ids])`, {
        details: { inputs: this.inputNames },
      });
    }
  }

  /**
   * `x64QuantPrecision` sets ONNX Runtime's `session.x64quantprecision` (s8 weights stored
   * as u8 at load): the loader turns it on for s8 graphs on CPUs whose u8×s8 kernels saturate.
   */
  static async create(path: string, numLabels: number, padId: number, options: PairSessionOptions & { x64QuantPrecision?: boolean } = {}): Promise<PairSession> {
    if (!LITTLE_ENDIAN) throw new WinnowError("MODEL_LOAD_FAILED", "the cross-encoder's int64 input packing assumes a little-endian CPU");
    if (!Number.isInteger(padId) || padId < 0) throw new WinnowError("MODEL_LOAD_FAILED", `pad token id must be a non-negative integer, got ${padId}`, { details: { path } });
    const ort = await loadOrt();
    const threads = options.threads ?? Math.max(1, cpus().length);
    // Config entries (onnxruntime_session_options_config_keys.h), flattened by the binding.
    const sessionOptions: OrtSession.SessionOptions = ortSessionOptions(options, threads, options.x64QuantPrecision ? { x64quantprecision: "1" } : {});
    const provider = resolveExecutionProviders(options)[0];
    let flash: FlashAttentionState;
    let session: OrtSession | undefined;
    if (options.flashAttention === false) flash = { enabled: false, reason: "turned off (flashAttention: false)" };
    else if (provider !== "cpu" && options.flashAttention !== true) flash = { enabled: false, reason: `only measured on the CPU provider (set flashAttention: true to use it on ${provider})` };
    else {
      const graph = await flashGraph(path);
      if ("reason" in graph) flash = { enabled: false, reason: graph.reason };
      else {
        try {
          session = await ort.InferenceSession.create(graph.path, sessionOptions);
          flash = { enabled: true };
        } catch (err) {
          // A build without the contrib op, say: the graph as exported still works.
          flash = { enabled: false, reason: `ONNX Runtime rejected the rewritten graph: ${(err as Error).message}` };
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
    return new PairSession(ort, session, numLabels, padId, flash);
  }

  private buffer(name: string, size: number): BigInt64Array {
    let buf = this.pools.get(name);
    if (!buf || buf.length < size) {
      buf = new BigInt64Array(Math.max(size, Math.ceil((buf?.length ?? 0) * 1.5)));
      this.pools.set(name, buf);
    }
    return buf.subarray(0, size);
  }

  /** Raw output rows (numLabels per unit) for `batch` (indices into `units`), right-padded to the batch's longest unit. */
  run(units: readonly PairUnit[], batch: readonly number[]): Promise<Float32Array> {
    const result = this.queue.then(() => this.runNow(units, batch));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async runNow(units: readonly PairUnit[], batch: readonly number[]): Promise<Float32Array> {
    if (this.closed) throw new WinnowError("ABORTED", "cross-encoder session was closed");
    let width = 0;
    let padded = false;
    for (const u of batch) {
      const t = units[u].tokens;
      if (width > 0 && t !== width) padded = true;
      width = Math.max(width, t);
    }
    const size = batch.length * width;
    const ids = this.buffer("input_ids", size);
    const mask = this.buffer("attention_mask", size);
    const types = this.takesTokenTypeIds ? this.buffer("token_type_ids", size) : undefined;
    // Written through 32-bit views of the int64 buffers (low word = value, high word = 0;
    // ids are small non-negative ints, little-endian): avoids one BigInt per token.
    const ids32 = new Int32Array(ids.buffer, ids.byteOffset, size * 2);
    const mask32 = new Int32Array(mask.buffer, mask.byteOffset, size * 2);
    const types32 = types ? new Int32Array(types.buffer, types.byteOffset, size * 2) : undefined;
    ids32.fill(0);
    mask32.fill(0);
    types32?.fill(0);
    for (let r = 0; r < batch.length; r++) {
      const unit = units[batch[r]];
      const base = 2 * r * width;
      for (let k = 0; k < unit.tokens; k++) {
        ids32[base + 2 * k] = unit.ids[k];
        mask32[base + 2 * k] = 1;
        if (types32) types32[base + 2 * k] = unit.typeIds[k];
      }
      if (this.padId !== 0) for (let k = unit.tokens; k < width; k++) ids32[base + 2 * k] = this.padId;
    }
    const dims = [batch.length, width];
    const feeds: Record<string, InstanceType<Ort["Tensor"]>> = {};
    for (const name of this.inputNames) {
      const data = name === "input_ids" ? ids : name === "attention_mask" ? mask : types!;
      feeds[name] = new this.ort.Tensor("int64", data, dims);
    }
    // The rewritten graph itself tests the mask for "no padding", the same condition as here.
    this.stats.runs++;
    if (!padded && this.flashAttention.enabled) this.stats.unpaddedRuns++;
    let out;
    try {
      out = await this.session.run(feeds, [this.outputName]);
    } catch (err) {
      throw new WinnowError("INTERNAL", `ONNX Runtime failed on a batch of ${batch.length}×${width}: ${(err as Error).message}`, { cause: err });
    }
    const logits = out[this.outputName];
    const data = floatOutput(logits.data, logits.type);
    if (data.length !== batch.length * this.numLabels) {
      throw new WinnowError("MODEL_LOAD_FAILED", `model output ${this.outputName} has shape [${logits.dims.join(", ")}], expected [${batch.length}, ${this.numLabels}] (num_labels from config.json)`, {
        details: { dims: logits.dims },
      });
    }
    const copy = Float32Array.from(data);
    logits.dispose?.();
    return copy;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    this.pools.clear();
    await this.session.release();
  }
}

/**
 * The graph at `path` with attention rewritten to flash-when-unpadded (see fuseModel),
 * written to a temporary file (weights copied from the original, never held in memory),
 * or why not.
 */
async function flashGraph(path: string): Promise<{ path: string; cleanup: () => Promise<void> } | { reason: string }> {
  let skeleton;
  try {
    const size = (await stat(path)).size;
    if (size > FLASH_ATTENTION_MAX_MODEL_BYTES) return { reason: `model file is ${(size / 2 ** 20).toFixed(0)} MiB, over the ${FLASH_ATTENTION_MAX_MODEL_BYTES / 2 ** 20} MiB limit` };
    skeleton = await readModelSkeleton(path);
  } catch (err) {
    // Loading the file as exported then reports what is wrong with it, in ONNX Runtime's words.
    return { reason: `cannot read the graph: ${(err as Error).message}` };
  }
  const inits = skeleton.model.graph?.initializer ?? [];
  if (inits.some((t) => t.dataLocation === 1)) return { reason: "weights are in an external data file" };
  let rewritten;
  try {
    rewritten = fuseModel(skeleton.model, { attention: "flash-when-unpadded", layerNormAndGelu: false, biasGelu: false, skipLayerNorm: false, embedLayerNorm: false });
  } catch (err) {
    return { reason: `the rewrite failed: ${(err as Error).message}` };
  }
  if (rewritten.report.multiHeadAttention === 0) return { reason: "the graph's attention is not a pattern the rewrite recognizes" };
  const known = new Set(inits.map((t) => t.name));
  if ((rewritten.model.graph?.initializer ?? []).some((t) => !known.has(t.name))) return { reason: "the rewrite needed new initializers" };
  const addOpsets = (rewritten.model.opsetImport ?? [])
    .filter((o) => !(skeleton.model.opsetImport ?? []).some((p) => (p.domain ?? "") === (o.domain ?? "")))
    .map((o) => ({ domain: o.domain ?? "", version: Number(o.version ?? 1) }));
  let dir: string;
  try {
    dir = await mkdtemp(join(tmpdir(), "winnow-flash-"));
  } catch (err) {
    return { reason: `cannot create a temporary folder: ${(err as Error).message}` };
  }
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    await writeModelWithNodes(skeleton, rewritten.model.graph?.node ?? [], addOpsets, join(dir, "model.onnx"));
  } catch (err) {
    await cleanup();
    return { reason: `cannot write the rewritten graph: ${(err as Error).message}` };
  }
  return { path: join(dir, "model.onnx"), cleanup };
}
