import type { Command } from "commander";
import type { Document } from "../../core/types.js";
import { loadBeirDataset, readCorpus } from "../../eval/readers/beir.js";
import { SeededRandom } from "../../core/seeded-random.js";
import { calibrationSpec, createReranker } from "../../rerankers/registry.js";
import { fitPlatt, saveCalibration, sigmoid } from "../../rerankers/cross-encoder/calibration.js";
import { addRerankerOptions, rerankerSpecFromFlags } from "../reranker-options.js";
import { addRetrieverOption, openRetriever, retrieverSpecFromFlag } from "../retriever-options.js";
import { UsageError } from "../usage-error.js";
import { parsePositiveInt } from "./metrics.js";

interface CalibrateFlags {
  dataset: string;
  split: string;
  out: string;
  queries: string;
  candidates: string;
  seed: string;
  retriever: string;
  [flag: string]: unknown;
}

/** Seeded Fisher–Yates so the same flags pick the same queries. */
function seededShuffle<T>(items: T[], seed: number): T[] {
  const rand = new SeededRandom(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand.uniform() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function meanLogLoss(probs: number[], labels: number[]): number {
  let sum = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = Math.min(Math.max(probs[i], 1e-15), 1 - 1e-15);
    sum -= labels[i] ? Math.log(p) : Math.log(1 - p);
  }
  return sum / probs.length;
}

/** The fitted mapping as printed: `p = sigmoid(0.9000 · logit - 4.4850)`, never `+ -4.4850`. */
export function formatPlatt(a: number, b: number): string {
  return `p = sigmoid(${a.toFixed(4)} · logit ${b < 0 ? "-" : "+"} ${Math.abs(b).toFixed(4)})`;
}

/**
 * `winnow calibrate`: fits a Platt mapping (logit → probability of relevance) on a
 * judged split. Pairs are each sampled query's first-stage (default BM25) top-k plus its judged documents;
 * a document judged ≥ 1 is relevant, anything else (judged 0 or unjudged) is not —
 * the usual assumption for pooled collections.
 */
export function register(program: Command): void {
  const cmd = program
    .command("calibrate")
    .description("fit a Platt calibration (logit → relevance probability) for a reranker on a judged BEIR split")
    .requiredOption("--dataset <dir>", "BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv)")
    .option("--split <name>", "qrels split to fit on (tune on train, never test)", "train")
    .requiredOption("--out <file>", "where to write the calibration JSON")
    .option("--queries <n>", "queries sampled from the split", "100")
    .option("--candidates <n>", "first-stage candidates per query (judged documents are always added)", "20")
    .option("--seed <n>", "query sampling seed", "1");
  addRetrieverOption(cmd);
  addRerankerOptions(cmd, "cross-encoder").action(async (flags: CalibrateFlags) => {
    const nQueries = parsePositiveInt("--queries", flags.queries, 100_000);
    const k = parsePositiveInt("--candidates", flags.candidates, 1000);
    const seed = parsePositiveInt("--seed", flags.seed);
    const flagSpec = rerankerSpecFromFlags(flags as Parameters<typeof rerankerSpecFromFlags>[0]);
    if (!flagSpec) throw new UsageError("calibrate needs a reranker: --model (cross-encoder) or --reranker <type>");
    // Calibrate the raw scores (a cross-encoder's logit): the reranker's own activation is what calibration replaces.
    const spec = calibrationSpec(flagSpec);
    const retrieverSpec = retrieverSpecFromFlag(flags.retriever);

    const dataset = await loadBeirDataset(flags.dataset, flags.split);
    const corpus = new Map<string, Document>();
    for await (const doc of readCorpus(flags.dataset)) corpus.set(doc.id, doc);
    const retriever = await openRetriever(retrieverSpec, { dataset: flags.dataset });
    let reranker;
    try {
      reranker = await createReranker(spec, { index: retriever.corpusIndex, vectors: retriever.vectors });
    } catch (err) {
      await retriever.close?.();
      throw err;
    }
    const logits: number[] = [];
    const labels: number[] = [];
    const queries = seededShuffle(dataset.queries, seed).slice(0, nQueries);
    try {
      for (const [qi, query] of queries.entries()) {
        const judged = dataset.qrels.get(query.id!) ?? new Map<string, number>();
        const ids = new Set((await retriever.search(query, k)).map((c) => c.document.id));
        for (const id of judged.keys()) if (corpus.has(id)) ids.add(id);
        const docs = [...ids].map((id) => corpus.get(id)!);
        const results = await reranker.rerank(query, docs, { returnDocuments: false });
        for (const r of results) {
          const logit = typeof r.details?.logit === "number" ? r.details.logit : r.score;
          logits.push(logit);
          labels.push((judged.get(r.id) ?? 0) >= 1 ? 1 : 0);
        }
        if ((qi + 1) % 20 === 0) process.stderr.write(`scored ${qi + 1}/${queries.length} queries\n`);
      }
    } finally {
      await reranker.close?.();
      await retriever.close?.();
    }
    const fit = fitPlatt(logits, labels);
    const positives = labels.reduce((a, b) => a + b, 0);
    const calibrated = logits.map((l) => sigmoid(fit.a * l + fit.b));
    const before = meanLogLoss(logits.map(sigmoid), labels);
    const after = meanLogLoss(calibrated, labels);
    saveCalibration(flags.out, {
      kind: "platt",
      a: fit.a,
      b: fit.b,
      model: typeof spec.model === "string" ? spec.model : reranker.name,
      fittedOn: { dataset: flags.dataset, split: flags.split, queries: queries.length, pairs: logits.length, positives, candidates: `${retrieverSpec.type} top-${k} + judged`, logLossBefore: before, logLossAfter: after },
    });
    process.stdout.write(
      `fitted on ${logits.length} pairs (${positives} relevant) from ${queries.length} ${flags.split} queries: ${formatPlatt(fit.a, fit.b)}\n` +
        `log loss: sigmoid(logit) ${before.toFixed(4)} → calibrated ${after.toFixed(4)}\nwrote ${flags.out}\n`,
    );
  });
}
