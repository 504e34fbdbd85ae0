import type { FastifyInstance } from "fastify";
import type { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { createReranker } from "../../src/rerankers/registry.js";
import { createServer } from "../../src/server/index.js";
import { PreparedUnitStore } from "../../src/server/prepared-units.js";
import { WorkerHostedModel } from "../../src/server/worker-hosted-model.js";
import { LexicalBatchScorer } from "./lexical-scorer.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error("condition not reached in time");
    await sleep(5);
  }
}

/** Every key of every object inside a structured-clone value (typed arrays are leaves). */
function keysIn(value: unknown, into = new Set<string>()): Set<string> {
  if (value === null || typeof value !== "object" || ArrayBuffer.isView(value)) return into;
  for (const [k, v] of Object.entries(value)) {
    into.add(k);
    keysIn(v, into);
  }
  return into;
}

describe("PreparedUnitStore: units kept by handle", () => {
  it("frees units as they are scored, answers NaN for released ones without running them, and clears", async () => {
    const scorer = new LexicalBatchScorer(100_000, 0);
    const store = new PreparedUnitStore(scorer);
    const a = await store.prepare("alpha beta", ["alpha", "beta gamma", "delta"]);
    const b = await store.prepare("alpha beta", ["alpha beta"]);
    expect(Array.from(a.unitTokens)).toEqual([6, 7, 6]);
    expect(Array.from(a.owner)).toEqual([0, 1, 2]);
    expect(store.size).toBe(4);
    const first = await store.score({ handles: Int32Array.of(a.handle, b.handle), units: Int32Array.of(0, 0) });
    expect(Array.from(first)).toEqual([0, 1]);
    expect(store.size).toBe(2);
    store.release(a.handle);
    expect(store.size).toBe(0);
    const passes = scorer.batches.length;
    const again = await store.score({ handles: Int32Array.of(a.handle), units: Int32Array.of(1) });
    expect(Number.isNaN(again[0])).toBe(true);
    expect(scorer.batches.length).toBe(passes);
    const c = await store.prepare("q", ["one", "two"]);
    expect(c.handle).not.toBe(a.handle);
    store.clear();
    expect(store.size).toBe(0);
  });
});

describe("a cross-encoder in the model worker keeps its tokenized units", () => {
  let modelDir: string;
  beforeAll(async () => {
    modelDir = await ensureGeneratedModel("tiny-bert");
  });

  it("posts back handles, token counts and owners, never token ids; scores by handle like the reranker", async () => {
    const { model, info } = await WorkerHostedModel.load({ type: "cross-encoder", model: modelDir });
    const replies: unknown[] = [];
    // Every message the worker posts to this thread.
    (model as unknown as { worker: Worker }).worker.on("message", (m: unknown) => replies.push(m));
    try {
      expect(info.batchable).toBe(true);
      const texts = ["fever in children is viral", "proteins fold into native structures", "long text ".repeat(600)];
      const prepared = await model.prepare("what causes fever", texts, {});
      expect(Object.keys(prepared).sort()).toEqual(["handle", "owner", "tokenizeMs", "tokens", "unitTokens"]);
      expect(prepared.unitTokens).toBeInstanceOf(Int32Array);
      // The long text is windowed: more units than texts, each owned by its text.
      expect(prepared.unitTokens.length).toBeGreaterThan(texts.length);
      expect(Array.from(prepared.owner).filter((o) => o === 2).length).toBe(prepared.unitTokens.length - 2);
      expect(prepared.tokens).toBe(prepared.unitTokens.reduce((s, t) => s + t, 0));
      expect(await model.heldUnits()).toBe(prepared.unitTokens.length);

      const n = prepared.unitTokens.length;
      const logits = await model.scoreUnits({ handles: new Int32Array(n).fill(prepared.handle), units: Int32Array.from({ length: n }, (_, i) => i) });
      expect(logits).toHaveLength(n);
      // Scored units are freed in the worker.
      expect(await model.heldUnits()).toBe(0);

      const offline = await createReranker({ type: "cross-encoder", model: modelDir, scores: "logit" });
      const expected = await offline.rerank("what causes fever", texts, { returnDocuments: false });
      await offline.close?.();
      for (const r of expected) {
        const best = Math.max(...Array.from(logits).filter((_, u) => prepared.owner[u] === r.index));
        expect(best).toBeCloseTo(r.score, 4);
      }

      // No reply ever carried a unit's token ids or type ids.
      const keys = new Set<string>();
      for (const r of replies) keysIn(r, keys);
      expect(keys.has("ids")).toBe(false);
      expect(keys.has("typeIds")).toBe(false);
      expect(keys.has("units")).toBe(false);
    } finally {
      await model.close();
    }
  });

  describe("served, with clients that leave mid-queue", () => {
    let app: FastifyInstance;
    let url: string;
    beforeAll(async () => {
      // One pair per pass: requests queue behind each other long enough to be cancelled there.
      app = createServer({ logLevel: "silent", models: [{ id: "tiny", reranker: { type: "cross-encoder", model: modelDir } }], batching: { maxBatchPairs: 1 } });
      await app.listen({ host: "127.0.0.1", port: 0 });
      await app.winnow.models.loadAll();
      url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    });
    afterAll(async () => app?.close());

    const rerank = (n: number, word: string, signal?: AbortSignal) =>
      fetch(`${url}/v1/rerank`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: `${word} query`, documents: Array.from({ length: n }, (_, i) => `${word} document number ${i} ${"filler words ".repeat(40)}`) }),
        signal,
      });

    const scoredPairs = async () => {
      const metrics = await (await fetch(`${url}/metrics`)).text();
      return Number(/winnow_pairs_scored_total\{model="tiny"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    };

    it("frees the units of requests whose clients disconnected, in the worker, and keeps serving", async () => {
      const model = app.winnow.models.all[0];
      expect(model.inWorker).toBe(true);
      const controllers = Array.from({ length: 4 }, () => new AbortController());
      const pending = controllers.map((c, i) => rerank(120, `gone${i}`, c.signal).catch((e: unknown) => e));
      // Wait until passes run and the worker holds tokenized units of queued requests, then every client leaves.
      await waitFor(async () => (await scoredPairs()) > 0 && (await model.heldUnits()) > 100);
      for (const c of controllers) c.abort();
      await Promise.all(pending);
      await waitFor(() => model.queuedPairs === 0);
      await waitFor(async () => (await model.heldUnits()) === 0);
      const scored = await scoredPairs();
      // Most of the 480 pairs were never scored: they were dropped with their requests.
      expect(scored).toBeLessThan(480);
      const ok = await rerank(3, "kept");
      expect(ok.status).toBe(200);
      expect(await model.heldUnits()).toBe(0);
    });
  });
});
