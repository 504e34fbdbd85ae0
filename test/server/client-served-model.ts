import { basename } from "node:path";
import { expect } from "vitest";
import { serveConfigFromFlags } from "../../src/cli/commands/serve.js";
import type { Reranker } from "../../src/core/types.js";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { createReranker } from "../../src/rerankers/registry.js";
import { startServer, type RunningServer } from "../../src/server/index.js";

/**
 * What each real-client contract test starts: `winnow serve` as the CLI builds it from its
 * flags (a generated cross-encoder in its worker thread, with the model names clients
 * already use as aliases), the same reranker called directly, and its ranking of QUERY
 * over DOCS, which every client must get back: same indices, same order, scores to 1e-6.
 */
export const QUERY = "what causes fever in children";
export const DOCS = [
  "The energy landscape theory explains how proteins fold into native structures.",
  "Fever in children is most often caused by viral infections.",
  "Vitamin D supplementation improves bone mineral density in older adults.",
  "Unrelated text about aeronautics and boundary layers.",
  "Children with a high fever should drink fluids and rest.",
  "A long abstract ".repeat(200) + "that mentions fever only at the very end.",
];

export interface ServedFixture {
  server: RunningServer;
  direct: Reranker;
  modelDir: string;
  /** The served model's id (the folder's name). */
  id: string;
  expected: Array<{ index: number; score: number }>;
  close(): Promise<void>;
}

export const CLIENT_ALIASES = ["rerank-v3.5", "rerank-english-v3.0", "rerank-english-v2.0", "rerank-multilingual-v3.0"];

export async function startServedFixture(extraFlags: Record<string, unknown> = {}): Promise<ServedFixture> {
  const modelDir = await ensureGeneratedModel("tiny-bert");
  const id = basename(modelDir);
  const config = serveConfigFromFlags({ model: modelDir, alias: CLIENT_ALIASES.map((a) => `${a}=${id}`), port: "0", logLevel: "silent", docs: true, ...extraFlags });
  const server = await startServer(config);
  const direct = await createReranker({ type: "cross-encoder", model: modelDir });
  const expected = (await direct.rerank(QUERY, DOCS, { returnDocuments: false })).map((r) => ({ index: r.index, score: r.score }));
  // A ranking that ties, or keeps input order, would let a wrong answer pass.
  expect(new Set(expected.map((r) => r.score.toFixed(6))).size).toBe(DOCS.length);
  expect(expected.map((r) => r.index)).not.toEqual(DOCS.map((_, i) => i));
  return {
    server,
    direct,
    modelDir,
    id,
    expected,
    close: async () => {
      await direct.close?.();
      await server.stop();
    },
  };
}

/** The client's ranking is Winnow's own: indices, order, and each score within 1e-6. */
export function expectServedRanking(expected: ServedFixture["expected"], got: Array<{ index: number; score: number }>, topN = expected.length): void {
  expect(got.map((r) => r.index)).toEqual(expected.slice(0, topN).map((r) => r.index));
  got.forEach((r, k) => expect(Math.abs(r.score - expected[k].score)).toBeLessThanOrEqual(1e-6));
}
