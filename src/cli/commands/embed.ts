import { join } from "node:path";
import type { Command } from "commander";
import { WinnowError } from "../../core/errors.js";
import { createEmbedder } from "../../retrieval/dense/create-embedder.js";
import type { EmbedderSpec } from "../../retrieval/dense/embedder.js";
import { HNSW_FILE, VECTOR_FILE } from "../../retrieval/dense/open-dense-retriever.js";
import { ExactVectorIndex } from "../../retrieval/vector/exact-vector-index.js";
import { HnswVectorIndex } from "../../retrieval/vector/hnsw-vector-index.js";
import { readVectors } from "../../retrieval/vector/vector-import.js";
import { documentText } from "../../core/inputs.js";
import { UsageError } from "../usage-error.js";

interface EmbedFlags {
  index: string;
  embedder?: string;
  model?: string;
  baseUrl?: string;
  pooling?: string;
  queryPrefix?: string;
  documentPrefix?: string;
  maxLength?: string;
  batchSize: string;
  vectors?: string;
  ids?: string;
  dim?: string;
  hnsw?: boolean;
  offline?: boolean;
}

function embedderSpecFromFlags(flags: EmbedFlags): EmbedderSpec | undefined {
  if (!flags.embedder) return undefined;
  if (flags.embedder !== "onnx" && flags.embedder !== "openai") throw new UsageError(`--embedder must be onnx or openai, got "${flags.embedder}"`);
  if (!flags.model) throw new UsageError("--embedder needs --model (a model folder or hub id for onnx; the model name for openai)");
  const spec: EmbedderSpec = { type: flags.embedder, model: flags.model };
  if (flags.embedder === "openai") {
    if (!flags.baseUrl) throw new UsageError("--embedder openai needs --base-url (e.g. http://localhost:8000/v1)");
    spec.baseUrl = flags.baseUrl;
  }
  if (flags.pooling) spec.pooling = flags.pooling;
  if (flags.queryPrefix !== undefined) spec.queryPrefix = flags.queryPrefix;
  if (flags.documentPrefix !== undefined) spec.documentPrefix = flags.documentPrefix;
  if (flags.maxLength !== undefined) spec.maxLength = Number(flags.maxLength);
  if (flags.offline) spec.offline = true;
  return spec;
}

/** `winnow embed`: add dense vectors (and optionally an HNSW graph) to a BM25 index folder. */
export function register(program: Command): void {
  program
    .command("embed")
    .description("embed every document of an index folder (or import your own vectors) for dense and hybrid retrieval")
    .requiredOption("--index <dir>", "index folder written by `winnow index` (documents are read from it; vectors are written next to it)")
    .option("--embedder <type>", "onnx (local bi-encoder) | openai (any OpenAI-compatible /embeddings server)")
    .option("--model <id-or-path>", "bi-encoder folder or hub id (onnx), or model name (openai)")
    .option("--base-url <url>", "OpenAI-compatible endpoint, e.g. http://localhost:8000/v1")
    .option("--pooling <mode>", "onnx: mean | cls", "mean")
    .option("--query-prefix <text>", "prepended to queries, e.g. 'query: '")
    .option("--document-prefix <text>", "prepended to documents, e.g. 'passage: '")
    .option("--max-length <n>", "onnx: tokens per text (default 256)")
    .option("--batch-size <n>", "texts per embedding call", "32")
    .option("--vectors <file>", "import vectors instead: JSONL {id, vector}, .npy or raw .f32 (with --ids)")
    .option("--ids <file>", "ids for a .npy/.f32 matrix, one per line in row order")
    .option("--dim <n>", "dimension of a raw .f32 matrix")
    .option("--hnsw", "also build an HNSW graph (approximate search for large corpora)")
    .option("--offline", "never download models")
    .action(async (flags: EmbedFlags) => {
      const batchSize = Number(flags.batchSize);
      if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError(`--batch-size must be a positive integer, got "${flags.batchSize}"`);
      const spec = embedderSpecFromFlags(flags);
      if (!spec && !flags.vectors) throw new UsageError("give --embedder/--model to embed documents, or --vectors to import your own");
      const { Bm25Index } = await import("../../retrieval/bm25/bm25-index.js");
      const store = await Bm25Index.load(flags.index);
      const t0 = performance.now();
      let index: ExactVectorIndex;
      if (flags.vectors) {
        const vectors = await readVectors(flags.vectors, { idsFile: flags.ids, dim: flags.dim === undefined ? undefined : Number(flags.dim) });
        const missing = vectors.filter((v) => store.docIndex(v.id) === undefined);
        if (missing.length > 0) {
          throw new WinnowError("INVALID_INPUT", `${flags.vectors}: ${missing.length} vector ids are not documents of ${flags.index} (first: "${missing[0].id}")`, { details: { field: "id" } });
        }
        index = ExactVectorIndex.build(vectors, { embedder: spec as Record<string, unknown> | undefined });
      } else {
        const embedder = await createEmbedder({ ...spec!, batchSize });
        try {
          const entries: Array<{ id: string; vector: Float32Array }> = [];
          const chunk = batchSize * 8;
          for (let start = 0; start < store.size; start += chunk) {
            const docs = Array.from({ length: Math.min(chunk, store.size - start) }, (_, i) => store.document(start + i));
            const vectors = await embedder.embed(docs.map(documentText), "document");
            docs.forEach((d, i) => entries.push({ id: d.id, vector: vectors[i] }));
            if (process.stderr.isTTY) process.stderr.write(`\r${entries.length}/${store.size} documents`);
          }
          if (process.stderr.isTTY) process.stderr.write("\n");
          const { batchSize: _b, ...stored } = embedder.spec;
          index = ExactVectorIndex.build(entries, { embedder: stored });
        } finally {
          await embedder.close?.();
        }
      }
      await index.save(join(flags.index, VECTOR_FILE));
      if (flags.hnsw) await HnswVectorIndex.build(index).save(join(flags.index, HNSW_FILE));
      console.log(`${index.size} vectors of dimension ${index.dim} written to ${join(flags.index, VECTOR_FILE)}${flags.hnsw ? ` (+ ${HNSW_FILE})` : ""} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    });
}
