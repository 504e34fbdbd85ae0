import { describe, expect, it } from "vitest";
import { runExperiment } from "../../src/eval/experiment.js";
import { loadBeirDataset, readCorpus } from "../../src/eval/readers/beir.js";
import { Bm25Index } from "../../src/retrieval/bm25/bm25-index.js";
import { sharedDataset } from "../support/shared-datasets.js";

/*
 * End-to-end agreement with trec_eval on real collections. The BM25 first stage
 * reproduces Lucene's scores, so every measure must land on the figure trec_eval
 * printed for the Lucene/Anserini run (../shared/README.md) to the fourth decimal.
 * Cranfield has graded judgments (1–4), which exercises nDCG's graded gains and
 * the -c averaging over queries. (test/retrieval/bm25 checks more collections
 * within ±0.005; this test is about the measures, hence exact and all six on SciFact.)
 */
const cases: Array<{ name: string; expected: Record<string, number> }> = [
  {
    name: "scifact",
    // Anserini regressions-beir-v1.0.0-scifact.flat (trec_eval -c)
    expected: { ndcg_cut_10: 0.6789, recall_100: 0.9253, recall_1000: 0.9767, map: 0.6401, recip_rank: 0.6506, P_10: 0.0883 },
  },
  { name: "cranfield", expected: { ndcg_cut_10: 0.351, recall_100: 0.7224, recall_1000: 0.9518 } },
];

describe("published trec_eval figures", () => {
  for (const { name, expected } of cases) {
    const shared = sharedDataset(name);
    it.skipIf(!shared.present)(`reproduces the Lucene BM25 run on ${name}${shared.skipNote}`, async () => {
      const dir = shared.dir;
      const ds = await loadBeirDataset(dir, "test");
      const index = await Bm25Index.build(readCorpus(dir));
      const report = await runExperiment({ queries: ds.queries, qrels: ds.qrels, firstStage: index, depth: 1000, metrics: Object.keys(expected) });
      for (const [metric, value] of Object.entries(expected)) {
        expect(report.metrics[metric].toFixed(4), `${name} ${metric}`).toBe(value.toFixed(4));
      }
    });
  }
});
