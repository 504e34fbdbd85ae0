import { RerankerBase, type ScoringCall, type ScoringOutcome } from "../../src/core/reranker-base.js";
import { registerReranker } from "../../src/rerankers/registry.js";

const wordsOf = (s: string) => s.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);

/**
 * A deterministic reranker that takes its time (WINNOW_TEST_RERANK_MS per call, default 40):
 * a document scores the query words it holds, over its length. Slow enough that a
 * worker can be killed in the middle of a chunk.
 */
class SlowLexicalReranker extends RerankerBase {
  readonly name = "slow-lexical";
  readonly scoring = "pointwise" as const;
  protected async score(call: ScoringCall): Promise<ScoringOutcome> {
    await new Promise((r) => setTimeout(r, Number(process.env.WINNOW_TEST_RERANK_MS ?? 40)));
    const q = new Set(wordsOf(call.query.text));
    return {
      scores: call.candidates.map((c) => {
        const w = wordsOf(`${c.document.title ?? ""} ${c.document.text}`);
        return w.filter((x) => q.has(x)).length / Math.sqrt(w.length + 1);
      }),
    };
  }
}

export function registerSlowLexical(): void {
  registerReranker("slow-lexical", async () => new SlowLexicalReranker(), "test reranker: query-word density, slowly");
}
