import { afterEach, describe, expect, it } from "vitest";
import { getEncoding } from "js-tiktoken";
import { LlmReranker, type LlmRerankerOptions } from "../../../src/rerankers/llm/llm-reranker.js";
import { createReranker } from "../../../src/rerankers/registry.js";
import { fakeRelevance } from "../../support/fake-vendors/http-harness.js";
import { startFakeChat, type FakeChatOptions, type FakeChatServer } from "../../support/fake-vendors/fake-chat-server.js";
import { caught } from "../../support/caught.js";

const QUERY = "coral reef bleaching ocean temperature";
const DOCS = [
  "Stock markets fell on Tuesday.",
  "Coral reef bleaching follows spikes in ocean temperature.",
  "Ocean currents and temperature records.",
  "A recipe for lemon cake.",
  "Reef fish diversity in the Pacific.",
  "Bleaching of coral after a marine heatwave raised ocean temperature.",
  "Temperature control in data centres.",
  "Coral gardening to restore a reef.",
  "The history of ocean navigation.",
  "Ocean temperature drives coral reef bleaching events worldwide.",
];
const truth = (docs: string[] = DOCS) => docs.map((d, i) => ({ i, s: fakeRelevance(QUERY, d) })).sort((a, b) => b.s - a.s || a.i - b.i).map((x) => x.i);

const FAST = { backoffBaseMs: 1, backoffMaxMs: 5, retryAfterCapMs: 50, maxRetries: 2, timeoutMs: 3000 };
const silent = () => {
  const lines: string[] = [];
  return { lines, warn: (_o: Record<string, unknown>, msg: string) => lines.push(msg) };
};

describe("LlmReranker over a fake OpenAI-compatible endpoint", () => {
  let server: FakeChatServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  const start = async (o: FakeChatOptions = {}) => (server = await startFakeChat(o));
  const make = (o: Partial<LlmRerankerOptions> = {}) => new LlmReranker({ baseUrl: `${server!.url}/v1`, model: "fake-7b", logger: silent(), ...FAST, ...o });

  describe("listwise", () => {
    it("ranks with one window when the list fits, with deterministic request settings", async () => {
      await start();
      const r = make({ mode: "listwise" });
      const out = await r.rerank(QUERY, DOCS);
      expect(out.map((x) => x.index)).toEqual(truth());
      expect(server!.requests).toHaveLength(1);
      const body = server!.requests[0].body as Record<string, unknown>;
      expect(body).toMatchObject({ model: "fake-7b", temperature: 0, seed: 0, stream: false });
      expect(r.lastUsage).toMatchObject({ calls: 1, windows: 1 });
      expect(r.lastUsage!.promptTokens).toBeGreaterThan(0);
    });

    it("slides a window bottom-up (window 4, step 2 over 10 → 4 calls) and brings the best to the top", async () => {
      await start();
      const r = make({ mode: "listwise", window: 4, step: 2 });
      const out = await r.rerank(QUERY, DOCS);
      expect(server!.requests).toHaveLength(4);
      expect(out.slice(0, 2).map((x) => x.index)).toEqual(truth().slice(0, 2));
      expect(new Set(out.map((x) => x.index)).size).toBe(DOCS.length);
    });

    it("repairs hallucinated, duplicate and missing ids, prose and empty answers, and counts them", async () => {
      await start({
        listwise: (ranked, n, call) =>
          call === 0 ? `Here is my ranking: [${ranked[0]}] > [${n + 5}] > [${ranked[0]}] > [${ranked[1]}]. The rest are irrelevant.` : "",
      });
      const r = make({ mode: "listwise", window: 6, step: 3 });
      const out = await r.rerank(QUERY, DOCS);
      expect(out).toHaveLength(DOCS.length);
      expect(new Set(out.map((x) => x.index)).size).toBe(DOCS.length);
      const rep = r.lastUsage!.repairs;
      expect(rep.prose).toBe(1);
      expect(rep.outOfRange).toBe(1);
      expect(rep.duplicate).toBe(1);
      expect(rep.missing).toBe(4);
      // Windows [4,10), [1,7), [0,4): the first answer is messy, the other two are empty.
      expect(r.lastUsage!.windows).toBe(3);
      expect(rep.empty).toBe(2);
      expect(r.stats().repairs.empty).toBe(2);
    });

    it("keeps every call inside the prompt-token budget by truncating passages by tokens", async () => {
      await start();
      const long = DOCS.map((d) => `${d} ${"filler words about nothing in particular ".repeat(300)}`);
      const r = make({ mode: "listwise", maxPromptTokens: 1200, maxPassageTokens: 500 });
      const out = await r.rerank(QUERY, long);
      expect(out).toHaveLength(DOCS.length);
      const enc = getEncoding("cl100k_base");
      const messages = (server!.requests[0].body as { messages: Array<{ content: string }> }).messages;
      const tokens = messages.reduce((n, m) => n + enc.encode(m.content).length, 0);
      expect(tokens).toBeLessThanOrEqual(1200);
      expect(tokens).toBeGreaterThan(800);
      expect(r.lastUsage!.truncatedPassages).toBe(DOCS.length);
    });

    it("rejects a budget too small for the template with INVALID_INPUT naming maxPromptTokens", async () => {
      await start();
      const err = await caught(make({ mode: "listwise", maxPromptTokens: 120 }).rerank(QUERY, DOCS));
      expect(err.code).toBe("INVALID_INPUT");
      expect(err.message).toMatch(/maxPromptTokens is 120/);
      expect(server!.requests).toHaveLength(0);
    });

    it("puts a per-call instruction and a custom template into the prompt", async () => {
      await start();
      const r = make({ mode: "listwise", templates: { listwise: { system: "", user: "CUSTOM {n}\n{instruction}\n{passages}\nSearch Query: {query}" } } });
      await r.rerank(QUERY, DOCS.slice(0, 3), { instruction: "prefer recent documents" });
      const messages = (server!.requests[0].body as { messages: Array<{ role: string; content: string }> }).messages;
      expect(messages).toHaveLength(1);
      expect(messages[0].content).toMatch(/^CUSTOM 3\nInstruction: prefer recent documents\n\[1\] /);
    });
  });

  describe("pointwise", () => {
    it("scores batches as JSON 0–10 when the endpoint has no log-probabilities (auto)", async () => {
      await start({ logprobs: false });
      const r = make({ mode: "pointwise", batchSize: 4 });
      const out = await r.rerank(QUERY, DOCS);
      expect(out.map((x) => x.index)).toEqual(truth());
      // One yes/no probe, then ceil(9 / 4) = 3 JSON batches for the rest.
      expect(server!.kinds).toEqual(["yesno", "pointwise", "pointwise", "pointwise"]);
      await r.rerank(QUERY, DOCS);
      // The probe's verdict is remembered: no second probe.
      expect(server!.kinds.slice(4)).toEqual(["pointwise", "pointwise", "pointwise"]);
    });

    it("uses yes/no log-probabilities when the endpoint returns them", async () => {
      await start({ logprobs: true });
      const r = make({ mode: "pointwise" });
      const out = await r.rerank(QUERY, DOCS);
      expect(server!.kinds.every((k) => k === "yesno")).toBe(true);
      expect(server!.requests).toHaveLength(DOCS.length);
      const body = server!.requests[0].body as Record<string, unknown>;
      expect(body).toMatchObject({ logprobs: true, top_logprobs: 10, max_tokens: 1 });
      expect(out.map((x) => x.index)).toEqual(truth());
      const best = out[0];
      expect(best.score).toBeCloseTo(10 * (0.05 + 0.9 * fakeRelevance(QUERY, DOCS[best.index])), 6);
    });

    it("treats a server that rejects logprobs (400) as one without them", async () => {
      await start({ rejectLogprobs: true });
      const r = make({ mode: "pointwise", batchSize: 10 });
      const out = await r.rerank(QUERY, DOCS);
      expect(out.map((x) => x.index)).toEqual(truth());
      expect(server!.requests.map((q) => q.body && (q.body as { logprobs?: boolean }).logprobs === true)).toEqual([true, false]);
    });

    it("sizes answers to the task unless maxOutputTokens is set", async () => {
      await start();
      await make({ mode: "listwise" }).rerank(QUERY, DOCS);
      await make({ mode: "listwise", maxOutputTokens: 2048 }).rerank(QUERY, DOCS);
      const caps = server!.requests.map((q) => (q.body as { max_tokens: number }).max_tokens);
      expect(caps[0]).toBe(6 * DOCS.length + 32);
      expect(caps[1]).toBe(2048);
    });

    it("asks once more after unparseable JSON", async () => {
      await start({ pointwise: (scores, call) => (call === 0 ? "Sure, scores follow: {1: seven" : JSON.stringify(Object.fromEntries(scores.map((s, i) => [i + 1, s])))) });
      const r = make({ mode: "pointwise", scoring: "json", batchSize: 10 });
      const out = await r.rerank(QUERY, DOCS);
      expect(server!.requests).toHaveLength(2);
      expect(out.map((x) => x.index)).toEqual(truth());
      expect(r.lastUsage!.repairs).toMatchObject({ unparseable: 1, unscored: 0 });
    });

    it("ranks what stays unscored after the retry below the scored, in first-stage order, flagged", async () => {
      // Only passage 1 ever gets a valid score.
      await start({ pointwise: (scores) => JSON.stringify({ "1": scores[0], "2": "n/a" }) });
      const r = make({ mode: "pointwise", scoring: "json", batchSize: 3 });
      const out = await r.rerank(QUERY, DOCS.slice(0, 3));
      expect(server!.requests).toHaveLength(2);
      expect(out.map((x) => x.index)).toEqual([0, 1, 2]);
      expect(out[0].details).toBeUndefined();
      expect(out[1].details).toEqual({ unscored: true });
      expect(r.lastUsage!.repairs.unscored).toBe(2);
    });

    it("fails clearly when scoring: logprobs is forced but the endpoint has none", async () => {
      await start({ logprobs: false });
      const err = await caught(make({ mode: "pointwise", scoring: "logprobs" }).rerank(QUERY, DOCS.slice(0, 2)));
      expect(err.code).toBe("UPSTREAM_ERROR");
      expect(err.message).toMatch(/log-probabilities/);
    });
  });

  describe("pairwise", () => {
    it("asks both orders per pair and finds the top-k with few comparisons", async () => {
      await start();
      const docs = [...DOCS, ...DOCS.map((d) => `${d} again`)]; // 20 candidates
      const r = make({ mode: "pairwise" });
      const out = await r.rerank(QUERY, docs, { topN: 3 });
      expect(out.map((x) => x.index)).toEqual(truth(docs).slice(0, 3));
      const u = r.lastUsage!;
      expect(u.calls).toBe(2 * u.comparisons);
      expect(u.comparisons).toBeLessThanOrEqual(2 * 20 + 2 * 3 * Math.ceil(Math.log2(20)));
      expect(u.comparisons).toBeLessThan((20 * 19) / 2);
      // Every pair was asked in both orders.
      const shown = server!.requests.map((q) => {
        const content = (q.body as { messages: Array<{ content: string }> }).messages[1].content;
        return `${/Passage A: (.*)/.exec(content)![1]}\u0000${/Passage B: (.*)/.exec(content)![1]}`;
      });
      const asked = new Set(shown);
      for (const ab of shown) expect(asked.has(ab.split("\u0000").reverse().join("\u0000"))).toBe(true);
    });

    it("cancels position bias: a model that always says 'A' leaves the first-stage order", async () => {
      await start({ pairwise: () => "Passage A" });
      const r = make({ mode: "pairwise" });
      const out = await r.rerank(QUERY, DOCS.slice(0, 6));
      expect(out.map((x) => x.index)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(r.lastUsage!.ties).toBe(r.lastUsage!.comparisons);
    });

    it("treats unreadable answers as no preference and counts them", async () => {
      await start({ pairwise: (better, call) => (call % 2 === 0 ? "I am not sure." : `Passage ${better === "B" ? "B" : "A"}`) });
      const r = make({ mode: "pairwise", concurrency: 1 });
      const out = await r.rerank(QUERY, DOCS.slice(0, 4));
      expect(out).toHaveLength(4);
      expect(r.lastUsage!.repairs.unparseable).toBeGreaterThan(0);
    });
  });

  describe("failures", () => {
    it("retries 429/5xx and then succeeds", async () => {
      await start({ script: [{ kind: "status", status: 429, headers: { "retry-after": "0" } }, { kind: "status", status: 502 }] });
      const r = make({ mode: "listwise" });
      const out = await r.rerank(QUERY, DOCS);
      expect(out[0].index).toBe(truth()[0]);
      expect(r.lastUsage).toMatchObject({ calls: 1, retries: 2 });
    });

    it("throws typed errors after retries: RATE_LIMITED, UPSTREAM_ERROR with status and excerpt, TIMEOUT", async () => {
      await start({ script: Array.from({ length: 3 }, () => ({ kind: "status" as const, status: 429 })) });
      expect((await caught(make().rerank(QUERY, DOCS))).code).toBe("RATE_LIMITED");
      server!.script = [{ kind: "status", status: 500, body: '{"error":{"message":"CUDA out of memory"}}' }, { kind: "status", status: 500 }, { kind: "status", status: 500 }];
      const e = await caught(make().rerank(QUERY, DOCS));
      expect(e.code).toBe("UPSTREAM_ERROR");
      expect(e.details.status).toBe(500);
      server!.script = [{ kind: "delay", ms: 3000 }];
      expect((await caught(make({ timeoutMs: 50, maxRetries: 0 }).rerank(QUERY, DOCS))).code).toBe("TIMEOUT");
    });

    it("rejects a malformed completion (no choices, truncated body) as UPSTREAM_ERROR", async () => {
      await start({ script: [{ kind: "raw", body: '{"object":"chat.completion","choices":[]}' }] });
      const e = await caught(make({ maxRetries: 0 }).rerank(QUERY, DOCS));
      expect(e.code).toBe("UPSTREAM_ERROR");
      expect(e.message).toMatch(/choices/);
      server!.script = [{ kind: "truncated" }, { kind: "truncated" }, { kind: "truncated" }];
      expect((await caught(make().rerank(QUERY, DOCS))).code).toBe("UPSTREAM_ERROR");
    });

    it("falls back to the first-stage order when asked, flagged, counted and logged once", async () => {
      // Enough 503s for both orders of the first pair, with all their retries.
      await start({ script: Array.from({ length: 6 }, () => ({ kind: "status" as const, status: 503 })) });
      const logger = silent();
      const r = make({ mode: "pairwise", onError: "fallback", logger, apiKey: "sk-local-secret-123" });
      const out = await r.rerank(QUERY, DOCS.slice(0, 4));
      expect(out.map((x) => x.index)).toEqual([0, 1, 2, 3]);
      expect(out.every((x) => x.details?.degraded === true)).toBe(true);
      expect(r.stats()).toMatchObject({ degraded: 1, failed: 0 });
      expect(logger.lines).toHaveLength(1);
      expect(logger.lines[0]).not.toContain("sk-local-secret-123");
    });

    it("sends the key as a bearer token and reports a wrong one without leaking it", async () => {
      await start({ apiKey: "right-key-12345" });
      await make({ apiKey: "right-key-12345" }).rerank(QUERY, DOCS.slice(0, 2));
      expect(server!.requests[0].headers.authorization).toBe("Bearer right-key-12345");
      const e = await caught(make({ apiKey: "wrong-key-67890" }).rerank(QUERY, DOCS.slice(0, 2)));
      expect(e.details.status).toBe(401);
      expect(e.message).not.toContain("wrong-key-67890");
    });

    it("accounts cost per query from usage and prices", async () => {
      await start();
      const r = make({ mode: "listwise", pricePer1kPromptTokens: 0.5, pricePer1kCompletionTokens: 2 });
      await r.rerank(QUERY, DOCS);
      const u = r.lastUsage!;
      expect(u.cost).toBeCloseTo((u.promptTokens * 0.5 + u.completionTokens * 2) / 1000, 12);
      expect(u.cost).toBeGreaterThan(0);
    });
  });
});

describe("LlmReranker configuration", () => {
  it("is built by the registry and names bad fields", async () => {
    const r = await createReranker({ type: "llm", baseUrl: "http://127.0.0.1:9/v1", model: "m", mode: "pairwise", offline: true });
    expect(r).toBeInstanceOf(LlmReranker);
    expect((r as LlmReranker).mode).toBe("pairwise");
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ type: "llm", model: "m" }, /baseUrl/],
      [{ type: "llm", baseUrl: "http://x/v1" }, /model/],
      [{ type: "llm", baseUrl: "http://x/v1", model: "m", window: 10, step: 10 }, /step/],
      [{ type: "llm", baseUrl: "http://x/v1", model: "m", mode: "setwise" }, /mode/],
      [{ type: "llm", baseUrl: "http://x/v1", model: "m", templates: { listwize: {} } }, /templates/],
    ];
    for (const [spec, field] of bad) {
      const err = await caught(createReranker(spec as { type: string }));
      expect(err.code).toBe("CONFIG_INVALID");
      expect(err.message).toMatch(field);
    }
  });
});
