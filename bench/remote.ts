/**
 * Remote rerankers, measured against local protocol fakes (no vendor is reachable):
 *
 * 1. Client overhead: ApiReranker.rerank (validation, JSON, response checks, merge)
 *    vs a bare fetch of the same request to the same fake Cohere, in the same run;
 *    and a 1,000-document request split into 10 calls (concurrency 4) vs one call.
 * 2. What an LLM reranker costs per query on SciFact (BM25 candidates): calls and
 *    prompt tokens (cl100k, counted on the messages actually sent) per mode. The fake
 *    "LLM" answers instantly, so only the counts are meaningful, not the times.
 *
 *   npm run bench:remote            # 300 calls per client timing, 20 SciFact queries per LLM mode
 *   npm run bench:remote -- --quick # a few seconds
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Tiktoken } from "js-tiktoken/lite";
import cl100k from "js-tiktoken/ranks/cl100k_base";
import { ApiReranker } from "../src/rerankers/api/api-reranker.js";
import { LlmReranker, type LlmRerankerOptions } from "../src/rerankers/llm/llm-reranker.js";
import { Bm25Index } from "../src/retrieval/bm25/bm25-index.js";
import { loadBeirDataset, readCorpus } from "../src/eval/readers/beir.js";
import { startFakeVendor } from "../test/support/fake-vendors/rerank-vendors.js";
import { startFakeChat } from "../test/support/fake-vendors/fake-chat-server.js";

const quick = process.argv.includes("--quick");
const root = resolve(fileURLToPath(import.meta.url), "../..");
const KEY = "bench-key-0123456789";

function stats(ms: number[]): { mean: number; p50: number; p95: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { mean: s.reduce((a, b) => a + b, 0) / s.length, p50: s[Math.floor(s.length / 2)], p95: s[Math.floor(s.length * 0.95)] };
}
const f = (x: number) => x.toFixed(2);

async function clientOverhead(): Promise<void> {
  const reps = quick ? 40 : 300;
  const docs: string[] = [];
  for await (const d of readCorpus(join(root, "examples/scifact-mini"))) docs.push(`${d.title ?? ""} ${d.text}`);
  const hundred = docs.slice(0, 100);
  const query = "coral reef bleaching and ocean temperature";
  const server = await startFakeVendor("cohere", { apiKey: KEY });
  const reranker = new ApiReranker({ provider: "cohere", model: "rerank-v3.5", apiKey: KEY, baseUrl: server.url });
  const body = JSON.stringify({ query, documents: hundred, model: "rerank-v3.5", top_n: 100 });
  const raw = async () => {
    const res = await fetch(`${server.url}/v2/rerank`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` }, body });
    await res.json();
  };
  for (let i = 0; i < 10; i++) {
    await raw();
    await reranker.rerank(query, hundred);
  }
  const rawMs: number[] = [];
  const ourMs: number[] = [];
  // Interleaved so both see the same machine load.
  for (let i = 0; i < reps; i++) {
    let t = performance.now();
    await raw();
    rawMs.push(performance.now() - t);
    t = performance.now();
    await reranker.rerank(query, hundred);
    ourMs.push(performance.now() - t);
  }
  const r = stats(rawMs);
  const o = stats(ourMs);
  console.log(`\n## ApiReranker vs bare fetch, 100 SciFact docs per call, local fake Cohere, ${reps} calls each`);
  console.log(`bare fetch     mean ${f(r.mean)} ms  p50 ${f(r.p50)}  p95 ${f(r.p95)}`);
  console.log(`ApiReranker    mean ${f(o.mean)} ms  p50 ${f(o.p50)}  p95 ${f(o.p95)}   ratio ${(o.p50 / r.p50).toFixed(2)}x (p50)`);

  const thousand = Array.from({ length: 1000 }, (_, i) => docs[i % docs.length]);
  const splitter = new ApiReranker({ provider: "cohere", model: "rerank-v3.5", apiKey: KEY, baseUrl: server.url, maxDocumentsPerCall: 100, concurrency: 4 });
  const single = new ApiReranker({ provider: "cohere", model: "rerank-v3.5", apiKey: KEY, baseUrl: server.url });
  const splitMs: number[] = [];
  const singleMs: number[] = [];
  for (let i = 0; i < Math.max(5, reps / 10); i++) {
    let t = performance.now();
    await single.rerank(query, thousand);
    singleMs.push(performance.now() - t);
    t = performance.now();
    await splitter.rerank(query, thousand);
    splitMs.push(performance.now() - t);
  }
  console.log(`1000 docs, 1 call        p50 ${f(stats(singleMs).p50)} ms`);
  console.log(`1000 docs, 10 calls (c=4) p50 ${f(stats(splitMs).p50)} ms   (${splitter.stats().requests / splitter.stats().calls} requests per rerank)`);
  await server.close();
}

async function llmCost(): Promise<void> {
  const dataset = join(root, "../shared/datasets/scifact");
  const { queries } = await loadBeirDataset(dataset, "test");
  const sample = queries.slice(0, quick ? 5 : 20);
  const index = await Bm25Index.build(readCorpus(dataset));
  const enc = new Tiktoken(cl100k);
  const server = await startFakeChat({ logprobs: true });
  console.log(`\n## LLM reranker cost per query, SciFact test (${sample.length} queries), BM25 candidates; prompt tokens counted with cl100k on the messages sent`);
  console.log("candidates  mode                        calls/query  prompt tokens/query  tokens/call  comparisons/query");
  const modes: Array<[string, Partial<LlmRerankerOptions>, number | undefined]> = [
    ["listwise (w20, s10)", { mode: "listwise" }, undefined],
    ["pointwise json (batch 5)", { mode: "pointwise", scoring: "json" }, undefined],
    ["pointwise logprobs", { mode: "pointwise", scoring: "logprobs" }, undefined],
    ["pairwise top-10", { mode: "pairwise" }, 10],
  ];
  for (const k of [20, 100]) {
    for (const [label, opts, topN] of modes) {
      const reranker = new LlmReranker({ baseUrl: `${server.url}/v1`, model: "fake", ...opts });
      const before = server.requests.length;
      let comparisons = 0;
      for (const q of sample) {
        const cands = await index.search(q, k);
        await reranker.rerank(q, cands, { topN });
        comparisons += reranker.lastUsage?.comparisons ?? 0;
      }
      const sent = server.requests.slice(before);
      const tokens = sent.reduce((n, r) => n + (r.body as { messages: Array<{ content: string }> }).messages.reduce((m, msg) => m + enc.encode(msg.content, [], []).length, 0), 0);
      console.log(
        `${String(k).padEnd(11)} ${label.padEnd(27)} ${(sent.length / sample.length).toFixed(1).padStart(11)}  ${(tokens / sample.length).toFixed(0).padStart(19)}  ${(tokens / sent.length).toFixed(0).padStart(11)}  ${(comparisons / sample.length).toFixed(1).padStart(17)}`,
      );
    }
  }
  await server.close();
}

await clientOverhead();
await llmCost();
