import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { PrepareOptions } from "../core/batch-scorer.js";
import { WinnowError } from "../core/errors.js";
import type { InstructionSupport } from "../core/reranker-base.js";
import type { RerankerSpec } from "../rerankers/registry.js";
import type { PreparedHandle, UnitSelection } from "./prepared-units.js";
import type { WorkerReply, WorkerRequestBody, WorkerRerankOptions, WorkerRerankResult } from "./worker-protocol.js";

export interface WorkerModelInfo {
  name: string;
  batchable: boolean;
  id?: string;
  maxBatchTokens?: number;
  instruction: InstructionSupport;
}

/**
 * Starts the worker entry next to this module: model-worker.js once built; from
 * source (tsx, vitest) a small bootstrap registers tsx's loader inside the worker
 * first, since loader hooks of the parent do not reach worker threads on Node 20.
 */
function startWorker(): Worker {
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL("./model-worker.js", import.meta.url));
  const tsxApi = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve("tsx/package.json")), "dist/esm/api/index.mjs")).href;
  const entry = new URL("./model-worker.ts", import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true });
}

/**
 * A reranker built from a spec inside its own worker thread, driven by messages.
 * Exposes what ServedModel needs: for batchable models, tokenizing into units the
 * worker keeps (answered with a handle) and scoring units by handle; for the others, a
 * whole-request rerank through the family's own path.
 */
export class WorkerHostedModel {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  private failed: unknown;
  /** Called once if the worker dies (crash, OOM, exit) after loading. */
  onFailure: ((err: unknown) => void) | undefined;

  private constructor() {
    this.worker = startWorker();
    this.worker.on("message", (reply: WorkerReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.error) p.reject(new WinnowError(reply.error.code, reply.error.message, { details: reply.error.details }));
      else p.resolve(reply.value);
    });
    const failAll = (err: unknown) => {
      if (this.failed) return;
      this.failed = err;
      this.onFailure?.(err);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on("error", (err) => failAll(new WinnowError("INTERNAL", `model worker crashed: ${err.message}`, { cause: err })));
    this.worker.on("exit", (code) => failAll(new WinnowError("INTERNAL", `model worker exited (code ${code})`)));
  }

  static async load(spec: RerankerSpec): Promise<{ model: WorkerHostedModel; info: WorkerModelInfo }> {
    const model = new WorkerHostedModel();
    try {
      const info = (await model.call({ op: "load", spec })) as WorkerModelInfo;
      return { model, info };
    } catch (err) {
      await model.worker.terminate();
      throw err;
    }
  }

  private call(body: WorkerRequestBody, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...body, id }, transfer);
    });
  }

  /** Tokenizes in the worker, which keeps the units; only their handle, token counts and owners come back. */
  prepare(query: string, texts: readonly string[], options: PrepareOptions): Promise<PreparedHandle> {
    const { signal: _signal, ...rest } = options;
    return this.call({ op: "prepare", query, texts: [...texts], options: rest }) as Promise<PreparedHandle>;
  }

  /** One forward pass over units named by handle; the worker frees each as it scores it. */
  scoreUnits(selection: UnitSelection): Promise<Float32Array> {
    return this.call({ op: "score", handles: selection.handles, units: selection.units }, [selection.handles.buffer as ArrayBuffer, selection.units.buffer as ArrayBuffer]) as Promise<Float32Array>;
  }

  /** Frees the units a failed request still holds in the worker. */
  release(handles: readonly number[]): void {
    if (handles.length === 0 || this.failed) return;
    void this.call({ op: "release", handles: [...handles] }).catch(() => undefined);
  }

  /** Units the worker holds (tokenized, not yet scored or released). */
  heldUnits(): Promise<number> {
    return this.call({ op: "held" }) as Promise<number>;
  }

  normalizeMany(logits: number[]): Promise<number[]> {
    return this.call({ op: "normalize", logits }) as Promise<number[]>;
  }

  async rerank(query: string, texts: readonly string[], options: WorkerRerankOptions, signal: AbortSignal): Promise<WorkerRerankResult> {
    const id = this.nextId; // the id `call` is about to use
    const onAbort = () => void this.call({ op: "abort", target: id }).catch(() => undefined);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      return (await this.call({ op: "rerank", query, texts: [...texts], options })) as WorkerRerankResult;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Releases the model, then stops the thread. Never terminate() (or exit the process)
   * while the worker is inside ONNX Runtime's run: the run finishes, its N-API calls then
   * fail in the terminating environment, node-addon-api throws a C++ Napi::Error nothing
   * catches, and the whole process aborts ("terminate called after throwing an instance
   * of 'Napi::Error'", SIGABRT). The worker answers "close" only between passes, once the
   * session is released, so after the answer it is idle in JavaScript and safe to stop.
   */
  async close(): Promise<void> {
    try {
      await this.call({ op: "close" });
    } catch {
      // already gone
    }
    this.failed ??= new WinnowError("INTERNAL", "model worker closed");
    await this.worker.terminate();
  }
}
