import { parentPort } from "node:worker_threads";
import { WinnowError } from "../../../core/errors.js";
import type { CorpusChunk } from "../corpus-source.js";
import { ChunkIndexer, type ChunkIndexerOptions } from "./chunk-indexer.js";

/**
 * Worker thread of a streamed build: parses and analyzes the JSONL chunks it is sent
 * and writes its own segments (like Lucene's per-thread document writers), so analysis
 * runs on every core while the main thread only reads the file. Protocol: init, then
 * chunk* (each acknowledged), then end → done with the flushed segments.
 */
export type WorkerRequest = { type: "init"; options: ChunkIndexerOptions } | { type: "chunk"; chunk: CorpusChunk } | { type: "end" };
export type WorkerReply =
  | { type: "ack"; documents: number }
  | { type: "done"; flushed: ReturnType<ChunkIndexer["finish"]>; skippedBlank: number; documents: number }
  | { type: "error"; code: string; message: string; details: Record<string, unknown> };

let indexer: ChunkIndexer | undefined;
const port = parentPort!;

port.on("message", (msg: WorkerRequest) => {
  try {
    if (msg.type === "init") indexer = new ChunkIndexer(msg.options);
    else if (msg.type === "chunk") {
      indexer!.addChunk(msg.chunk);
      port.postMessage({ type: "ack", documents: indexer!.documents } satisfies WorkerReply);
    } else {
      const flushed = indexer!.finish();
      port.postMessage({ type: "done", flushed, skippedBlank: indexer!.skippedBlank, documents: indexer!.documents } satisfies WorkerReply);
    }
  } catch (err) {
    indexer?.abandon();
    indexer = undefined;
    const e = err as Error;
    port.postMessage({
      type: "error",
      code: err instanceof WinnowError ? err.code : "INTERNAL",
      message: e.message,
      details: err instanceof WinnowError ? err.details : {},
    } satisfies WorkerReply);
  }
});
