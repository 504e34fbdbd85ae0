import type { Command } from "commander";
import { numberFlag } from "../number-flag.js";
import { UsageError } from "../usage-error.js";

interface IndexFlags {
  dataset?: string;
  corpus?: string;
  out: string;
  append?: boolean;
  deleteIds?: string;
  delete?: string;
  merge?: boolean;
  storeText?: string;
  memoryBudget?: string;
  allowDuplicateIds?: boolean;
  workers?: string;
  k1?: string;
  b?: string;
  quiet?: boolean;
  colbert?: string;
  colbertCompression?: string;
  colbertPooling?: string;
  colbertDtype?: string;
}

const STORE_TEXT = ["compressed", "none", "source"];

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${Math.round(s)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
}

/** Ids to delete: one per line of FILE, or of standard input for "-". */
async function readIds(path: string): Promise<string[]> {
  const { createReadStream } = await import("node:fs");
  const { createInterface } = await import("node:readline");
  const input = path === "-" ? process.stdin : createReadStream(path);
  const ids: string[] = [];
  try {
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      const id = line.trim();
      if (id.length > 0) ids.push(id);
    }
  } catch (err) {
    throw new UsageError(`--delete-ids: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return ids;
}

/**
 * `winnow index`: builds a BM25 index from a corpus in bounded memory and saves it
 * atomically; --append adds or replaces documents by id, --delete-ids removes them,
 * --merge merges the segments into one (docs/bm25.md, docs/bm25-index-format.md).
 */
export function register(program: Command): void {
  program
    .command("index")
    .description("build or update a BM25 index (Lucene/Anserini-compatible) from a corpus, streamed in bounded memory")
    .option("--dataset <dir>", "BEIR folder with corpus.jsonl or corpus.jsonl.gz ({\"_id\",\"title\",\"text\", ...metadata} per line)")
    .option("--corpus <path>", "corpus file or folder: JSONL, gzip JSONL, TREC (<DOC><DOCNO>…), or a BEIR folder")
    .requiredOption("--out <dir>", "index folder to create, replace, or update (every write is atomic)")
    .option("--append", "add the corpus to the index at --out; a document whose _id is already there replaces it")
    .option("--delete-ids <file>", "delete the documents whose ids are listed in FILE, one per line (- reads standard input)")
    .option("--delete <ids>", "delete these documents (comma-separated ids)")
    .option("--merge", "merge the index at --out into one segment, dropping deleted documents")
    .option("--store-text <mode>", "compressed (default): text stored deflated; source: byte offsets into the corpus file; none: ids and metadata only")
    .option("--memory-budget <MB>", "analysis memory before a segment is written (default 256)")
    .option("--allow-duplicate-ids", "a repeated _id keeps the last one (by default it is an error)")
    .option("--workers <n>", "analysis worker threads (default: cores, at most 2; 0 analyzes in the main thread)")
    .option("--k1 <number>", "BM25 k1 stored as the index default (default 0.9)")
    .option("--b <number>", "BM25 b stored as the index default (default 0.4)")
    .option("-q, --quiet", "no progress or summary")
    .option("--colbert <model>", "also store every document's ColBERT token vectors beside the index (<out>/colbert; docs/colbert.md)")
    .option("--colbert-compression <mode>", "fp16 (default) | fp32 | residual-2bit | residual-1bit")
    .option("--colbert-pooling <factor>", "merge similar document tokens, 1 (none, default) to 8; 2–3 typical")
    .option("--colbert-dtype <dtype>", "ColBERT model weights: fp32 (default) | int8")
    .action(async (flags: IndexFlags) => {
      const k1 = numberFlag("--k1", flags.k1, { min: 0, max: 100, integer: false });
      const b = numberFlag("--b", flags.b, { min: 0, max: 1, integer: false });
      const memoryBudgetMb = numberFlag("--memory-budget", flags.memoryBudget, { min: 16, max: 65536 });
      const workers = numberFlag("--workers", flags.workers, { min: 0, max: 64 });
      if (flags.storeText !== undefined && !STORE_TEXT.includes(flags.storeText)) {
        throw new UsageError(`--store-text must be one of ${STORE_TEXT.join(", ")}, got "${flags.storeText}"`);
      }
      if (flags.dataset !== undefined && flags.corpus !== undefined) throw new UsageError("give --dataset or --corpus, not both");
      const corpus = flags.corpus ?? flags.dataset;
      if (flags.delete !== undefined) {
        if (flags.deleteIds !== undefined) throw new UsageError("give --delete or --delete-ids, not both");
        if (flags.delete.split(",").every((id) => id.trim() === "")) throw new UsageError("--delete needs at least one id");
      }
      const deleting = flags.deleteIds !== undefined || flags.delete !== undefined;
      const modes = [flags.append, deleting, flags.merge].filter(Boolean).length;
      if (modes > 1) throw new UsageError("--append, --delete/--delete-ids and --merge are separate operations: give one");
      if ((deleting || flags.merge) && corpus !== undefined) throw new UsageError("--delete, --delete-ids and --merge work on --out alone; drop --dataset/--corpus");
      if (!deleting && !flags.merge && corpus === undefined) throw new UsageError("give the corpus to index: --dataset DIR or --corpus PATH");
      if ((flags.append || deleting || flags.merge) && (k1 !== undefined || b !== undefined)) {
        throw new UsageError("--k1/--b are set when an index is built; an update keeps the index's");
      }
      // ColBERT token vectors (src/retrieval/colbert/index-store.ts) are written for a full build only: an update would leave them stale.
      if (flags.colbert === undefined && (flags.colbertCompression ?? flags.colbertPooling ?? flags.colbertDtype) !== undefined) throw new UsageError("--colbert-compression, --colbert-pooling and --colbert-dtype go with --colbert MODEL");
      if (flags.colbert !== undefined && modes > 0) throw new UsageError("--colbert stores the vectors of a full build: rebuild the index (without --append, --delete-ids or --merge)");
      const colbertStore = flags.colbert === undefined ? undefined : await import("../../retrieval/colbert/index-store.js");
      const colbert = colbertStore?.checkIndexStoreFlags(flags.colbert!, flags.colbertCompression, flags.colbertPooling, flags.colbertDtype);
      // Lazy imports keep `winnow --help` fast.
      const { Bm25Index } = await import("../../retrieval/bm25/bm25-index.js");
      const showProgress = !flags.quiet && process.stderr.isTTY === true;
      const started = performance.now();
      let bar: { start(total: number, value: number, payload?: object): void; update(value: number, payload?: object): void; stop(): void } | undefined;
      if (showProgress && corpus !== undefined) {
        const { SingleBar } = (await import("cli-progress")).default;
        bar = new SingleBar({ format: "indexing {bar} {percentage}% | {docs} documents | {rate} docs/s | ETA {eta_s}", stream: process.stderr, hideCursor: true, barsize: 24 });
        bar.start(100, 0, { docs: 0, rate: 0, eta_s: "?" });
      }
      const onProgress = (p: { documents: number; bytesRead?: number; totalBytes?: number }) => {
        if (!bar) return;
        const seconds = (performance.now() - started) / 1000;
        const fraction = p.bytesRead !== undefined && p.totalBytes ? Math.min(1, p.bytesRead / p.totalBytes) : undefined;
        const eta = fraction !== undefined && fraction > 0 ? (seconds / fraction) * (1 - fraction) : Number.NaN;
        bar.update(fraction === undefined ? 0 : Math.round(fraction * 100), { docs: p.documents, rate: Math.round(p.documents / Math.max(seconds, 1e-3)), eta_s: formatSeconds(eta) });
      };
      const options = { storeText: flags.storeText as "compressed" | "none" | "source" | undefined, memoryBudgetMb, workers, allowDuplicateIds: flags.allowDuplicateIds === true, onProgress };
      let summary;
      // The BM25 writer owns the folder: the old token store waits beside it, and comes back if anything fails.
      const aside = colbert ? await colbertStore!.setAsideStore(flags.out) : undefined;
      try {
        if (deleting) {
          const ids = flags.delete !== undefined ? flags.delete.split(",").map((id) => id.trim()).filter((id) => id.length > 0) : await readIds(flags.deleteIds!);
          summary = await Bm25Index.delete(flags.out, ids);
        }
        else if (flags.merge) summary = await Bm25Index.merge(flags.out, { maxSegments: 1 });
        else if (flags.append) summary = await Bm25Index.append(flags.out, corpus!, options);
        else summary = await Bm25Index.write(flags.out, corpus!, { ...options, ...(k1 !== undefined ? { k1 } : {}), ...(b !== undefined ? { b } : {}) });
      } catch (err) {
        await aside?.restore();
        throw err;
      } finally {
        bar?.stop();
      }
      // After the BM25 summary, so its time is the BM25 build alone.
      const writeColbert = async () => {
        if (!colbert) return;
        const built = await Bm25Index.load(flags.out);
        let written;
        try {
          written = await colbertStore!.writeIndexStore(flags.out, built, colbert, showProgress ? (n) => process.stderr.write(`\rcolbert: ${n}/${built.size} documents`) : undefined);
        } catch (err) {
          // Nothing half-written: the previous store (if any) comes back; its changed documents are re-encoded at rerank time.
          await aside?.restore();
          throw err;
        } finally {
          if (showProgress) process.stderr.write("\n");
          built.close();
        }
        await aside?.discard();
        const { manifest, docsPerSecond } = written;
        if (!flags.quiet) {
          const c = manifest.compression;
          console.log(
            `colbert: ${manifest.tokens} token vectors of ${manifest.documents} documents (${manifest.dims} dims, ${c.kind}${c.kind === "residual" ? ` ${c.bits}-bit, ${c.centroids} centroids` : ""}${c.pooling ? `, pooled ×${c.pooling}` : ""}, ${manifest.bytesPerToken} bytes/token) at ${docsPerSecond.toFixed(1)} docs/s; saved to ${flags.out}/colbert`,
          );
        }
      };
      if (flags.quiet) return writeColbert();
      const seconds = ((performance.now() - started) / 1000).toFixed(2);
      const index = await Bm25Index.load(flags.out);
      try {
        const skipped = summary.skippedBlank > 0 ? ` (${summary.skippedBlank} blank skipped)` : "";
        const segments = `${index.segmentCount} segment${index.segmentCount === 1 ? "" : "s"}`;
        if (deleting) {
          const missing = (summary as { missing?: number }).missing ?? 0;
          if (missing > 0) console.error(`warning: ${missing} of the ids to delete are not in the index`);
          console.log(`deleted ${summary.deleted} documents; ${index.size} left, ${segments} in ${seconds} s; saved to ${flags.out}`);
        } else if (flags.merge) {
          console.log(`merged into ${segments}: ${index.size} documents in ${seconds} s; saved to ${flags.out}`);
        } else if (flags.append) {
          console.log(`appended ${summary.added} documents${skipped} (${summary.replaced} replaced); ${index.size} in the index, ${segments} in ${seconds} s; saved to ${flags.out}`);
        } else {
          console.log(
            `indexed ${index.size} documents${skipped}, ${index.vocabularySize} terms, avg ${index.avgDocLength.toFixed(1)} terms/doc ` +
              `in ${seconds} s; saved to ${flags.out} (k1=${index.params.k1}, b=${index.params.b})`,
          );
        }
      } finally {
        index.close();
      }
      await writeColbert();
    });
}
