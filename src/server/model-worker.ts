/**
 * Worker-thread entry that hosts one reranker. onnxruntime-node runs a forward pass
 * synchronously on the calling thread (its `run` is a setImmediate around a blocking
 * native call), so a model on the main thread would stall every HTTP request —
 * /health included — for the length of each pass. Here it stalls only this thread.
 */
import { parentPort } from "node:worker_threads";
import { isBatchableReranker, type BatchScorer } from "../core/batch-scorer.js";
import { WinnowError, isWinnowError } from "../core/errors.js";
import type { Reranker } from "../core/types.js";
import { createReranker, type RerankerSpec } from "../rerankers/registry.js";
import { PreparedUnitStore } from "./prepared-units.js";
import { instructionSupport } from "./instruction-support.js";
import type { WorkerReply, WorkerRequest, WorkerRerankResult } from "./worker-protocol.js";

if (!parentPort) throw new Error("model-worker must run in a worker thread");
const port = parentPort;

let reranker: Reranker | undefined;
let scorer: BatchScorer | undefined;
/** Tokenized units of batched requests, kept here until scored or released. */
let store: PreparedUnitStore | undefined;
const aborts = new Map<number, AbortController>();
/** Set by "close": later work is refused, so nothing new reaches ONNX Runtime once the host may stop this thread. */
let closed = false;

function serializeError(err: unknown): WorkerReply["error"] {
  if (isWinnowError(err)) return { code: err.code, message: err.message, details: err.details };
  return { code: "INTERNAL", message: err instanceof Error ? err.message : String(err), details: {} };
}

async function handle(msg: WorkerRequest): Promise<{ value: unknown; transfer?: ArrayBuffer[] }> {
  if (closed && msg.op !== "close" && msg.op !== "abort" && msg.op !== "release" && msg.op !== "held") {
    throw new WinnowError("UNAVAILABLE", "the model is shutting down; retry");
  }
  switch (msg.op) {
    case "load": {
      reranker = await createReranker(msg.spec as RerankerSpec);
      scorer = isBatchableReranker(reranker) ? reranker.batchScorer : undefined;
      store = scorer ? new PreparedUnitStore(scorer) : undefined;
      return {
        value: { name: reranker.name, batchable: scorer !== undefined, id: scorer?.id, maxBatchTokens: scorer?.maxBatchTokens, instruction: instructionSupport(reranker) },
      };
    }
    case "prepare": {
      // Only the handle, token counts and owners go back; the token ids stay here.
      const prepared = await store!.prepare(msg.query, msg.texts, msg.options);
      return { value: prepared, transfer: [prepared.unitTokens.buffer as ArrayBuffer, prepared.owner.buffer as ArrayBuffer] };
    }
    case "score": {
      const logits = await store!.score({ handles: msg.handles, units: msg.units });
      return { value: logits, transfer: [logits.buffer as ArrayBuffer] };
    }
    case "release":
      for (const h of msg.handles) store?.release(h);
      return { value: null };
    case "held":
      return { value: store?.size ?? 0 };
    case "normalize":
      return { value: msg.logits.map((l) => scorer!.normalize(l)) };
    case "rerank": {
      const controller = new AbortController();
      aborts.set(msg.id, controller);
      const warnings: string[] = [];
      try {
        // The family's own shared path (validation, topN, instruction, cache, ranking); its
        // indices are into the texts sent, which are the request's documents.
        const results = await reranker!.rerank(msg.query, msg.texts, {
          ...msg.options,
          returnDocuments: false,
          signal: controller.signal,
          onWarnings: (w) => warnings.push(...w),
        });
        return { value: { results, warnings } satisfies WorkerRerankResult };
      } finally {
        aborts.delete(msg.id);
      }
    }
    case "abort":
      aborts.get(msg.target)?.abort();
      return { value: null };
    case "close":
      // Handled only between forward passes (a pass blocks this thread), and answered once
      // the model is released: from then on the host may terminate this thread safely.
      closed = true;
      for (const controller of aborts.values()) controller.abort(new WinnowError("UNAVAILABLE", "the model is shutting down; retry"));
      store?.clear();
      await reranker?.close?.();
      return { value: null };
  }
}

port.on("message", (msg: WorkerRequest) => {
  handle(msg).then(
    ({ value, transfer }) => {
      try {
        port.postMessage({ id: msg.id, value } satisfies WorkerReply, transfer ?? []);
      } catch {
        // A buffer that cannot be detached (native memory) is copied instead.
        port.postMessage({ id: msg.id, value } satisfies WorkerReply);
      }
    },
    (err: unknown) => port.postMessage({ id: msg.id, error: serializeError(err) } satisfies WorkerReply),
  );
});
