import { describe, expect, it } from "vitest";
import { register as registerEval } from "../../../src/cli/commands/eval.js";
import { runCommand } from "../../support/run-command.js";
import { sharedDataset } from "../../support/shared-datasets.js";

// `winnow eval --dataset DIR --retriever bm25-rm3` against Lucene 8 with Anserini's `-bm25 -rm3`
// defaults (nDCG@10 of the top 1000, trec_eval -c; ../shared/README.md): within ±0.005.
const REFERENCE: Record<string, number> = { scifact: 0.6457, cranfield: 0.3688, cisi: 0.3879, adi: 0.4499 };

for (const [name, ndcg10] of Object.entries(REFERENCE)) {
  const { dir, present, skipNote } = sharedDataset(name);
  describe.skipIf(!present)(`winnow eval --retriever bm25-rm3 on ${name}${skipNote}`, () => {
    it(`reports nDCG@10 within ±0.005 of ${ndcg10}`, async () => {
      const out = JSON.parse(await runCommand(registerEval, ["eval", "--dataset", dir, "--retriever", "bm25-rm3", "--format", "json"]));
      expect(out.retriever).toMatchObject({ type: "bm25-rm3", fbDocs: 10, fbTerms: 10, originalQueryWeight: 0.5, k1: 0.9, b: 0.4 });
      expect(Math.abs(out.metrics.ndcg_cut_10 - ndcg10), `nDCG@10 ${out.metrics.ndcg_cut_10}`).toBeLessThanOrEqual(0.005);
    });
  });
}
