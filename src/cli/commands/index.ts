import type { Command } from "commander";
import { numberFlag } from "../number-flag.js";

interface IndexFlags {
  dataset: string;
  out: string;
  k1?: string;
  b?: string;
  quiet?: boolean;
  colbert?: string;
  colbertCompression?: string;
  colbertPooling?: string;
  colbertDtype?: string;
}

/** `winnow index`: builds a BM25 index from a BEIR-layout folder and saves it atomically. */
export function register(program: Command): void {
  program
    .command("index")
    .description("build a BM25 index (Lucene/Anserini-compatible) from a BEIR folder's corpus.jsonl")
    .requiredOption("--dataset <dir>", "folder with corpus.jsonl ({\"_id\",\"title\",\"text\", ...metadata} per line)")
    .requiredOption("--out <dir>", "index folder to create or replace (written atomically)")
    .option("--k1 <number>", "BM25 k1 stored as the index default (default 0.9)")
    .option("--b <number>", "BM25 b stored as the index default (default 0.4)")
    .option("-q, --quiet", "no progress or summary")
    .option("--colbert <model>", "also store every document's ColBERT token vectors beside the index (<out>/colbert; docs/colbert.md)")
    .option("--colbert-compression <mode>", "fp16 (default) | fp32 | residual-2bit | residual-1bit")
    .option("--colbert-pooling <factor>", "merge similar document tokens, 1 (none, default) to 8; 2–3 typical")
    .option("--colbert-dtype <dtype>", "ColBERT model weights: fp32 (default) | int8")
    .action(async (flags: IndexFlags) => {
      const k1 = numberFlag("--k1", flags.k1, { min: 0, max: 100, integer: false });
      const colbertStore = await import("../../retrieval/colbert/index-store.js");
      const colbert = flags.colbert === undefined ? undefined : colbertStore.checkIndexStoreFlags(flags.colbert, flags.colbertCompression, flags.colbertPooling, flags.colbertDtype);
      const b = numberFlag("--b", flags.b, { min: 0, max: 1, integer: false });
      // Lazy imports keep `winnow --help` fast.
      const [{ readCorpus }, { Bm25Index }] = await Promise.all([
        import("../../eval/readers/beir.js"),
        import("../../retrieval/bm25/bm25-index.js"),
      ]);
      const showProgress = !flags.quiet && process.stderr.isTTY === true;
      const started = performance.now();
      let bar: { start(total: number, value: number, payload?: object): void; update(value: number, payload?: object): void; stop(): void } | undefined;
      if (showProgress) {
        const { SingleBar } = (await import("cli-progress")).default;
        bar = new SingleBar({ format: "indexing {value} documents ({rate} docs/s)", stream: process.stderr, hideCursor: true });
        bar.start(0, 0, { rate: 0 });
      }
      const params: { k1?: number; b?: number } = {};
      if (k1 !== undefined) params.k1 = k1;
      if (b !== undefined) params.b = b;
      let index;
      try {
        index = await Bm25Index.build(readCorpus(flags.dataset), {
          ...params,
          onProgress: (n) => bar?.update(n, { rate: Math.round(n / ((performance.now() - started) / 1000)) }),
        });
      } finally {
        bar?.stop();
      }
      const built = performance.now();
      const aside = colbert ? await colbertStore.setAsideStore(flags.out) : undefined;
      try {
        await index.save(flags.out);
      } catch (err) {
        await aside?.restore();
        throw err;
      }
      await aside?.discard();
      if (!flags.quiet) {
        const skipped = index.skippedBlank > 0 ? ` (${index.skippedBlank} blank skipped)` : "";
        console.log(
          `indexed ${index.size} documents${skipped}, ${index.vocabularySize} terms, avg ${index.avgDocLength.toFixed(1)} terms/doc ` +
            `in ${((built - started) / 1000).toFixed(2)} s; saved to ${flags.out} (k1=${index.params.k1}, b=${index.params.b})`,
        );
      }
      if (colbert) {
        const { manifest, docsPerSecond } = await colbertStore.writeIndexStore(flags.out, index, colbert, showProgress ? (n) => process.stderr.write(`\rcolbert: ${n}/${index.size} documents`) : undefined);
        if (showProgress) process.stderr.write("\n");
        if (!flags.quiet) {
          console.log(
            `colbert: ${manifest.tokens} token vectors of ${manifest.documents} documents (${manifest.dims} dims, ${manifest.compression.kind}${manifest.compression.kind === "residual" ? ` ${manifest.compression.bits}-bit, ${manifest.compression.centroids} centroids` : ""}${manifest.compression.pooling ? `, pooled ×${manifest.compression.pooling}` : ""}, ${manifest.bytesPerToken} bytes/token) at ${docsPerSecond.toFixed(1)} docs/s; saved to ${flags.out}/colbert`,
          );
        }
      }
    });
}
