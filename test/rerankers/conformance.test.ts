import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { MemoryScoreCache } from "../../src/cache/memory-score-cache.js";
import { RerankerBase, type ScoringCall } from "../../src/core/reranker-base.js";
import type { Candidate, CandidateInput, Document, RankedResult, Reranker, RerankOptions } from "../../src/core/types.js";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { createReranker, registerReranker, rerankerTypes } from "../../src/rerankers/registry.js";
import type { RerankerSpec } from "../../src/core/reranker-spec.js";
import { caught } from "../support/caught.js";
import { startFakeChat } from "../support/fake-vendors/fake-chat-server.js";
import type { HarnessServer } from "../support/fake-vendors/http-harness.js";
import { startFakeVendor, type FakeVendor } from "../support/fake-vendors/rerank-vendors.js";

/**
 * Every registered reranker family, built through the registry as callers build it, must
 * keep the one contract: result shape, sort and tie rules, topN, empty input, abort,
 * instruction taken or refused by name, the score cache (pointwise only) and typed errors
 * for bad input. A family registered without a fixture below fails the suite: add one.
 */

const KEY = "conformance-key-0123456789";
const FAST = { maxRetries: 0, timeoutMs: 5_000 };
const QUERY = "solar panel efficiency in cold climates";
const DOCS: Document[] = [
  { id: "a", text: "A history of the printing press." },
  { id: "b", text: "Solar panel output rises in cold climates because efficiency improves at low temperature." },
  { id: "c", text: "Wind turbines in cold climates need de-icing." },
  // Same text as "b" under another id: a tie, which must keep input order (b before b2).
  { id: "b2", text: "Solar panel output rises in cold climates because efficiency improves at low temperature." },
  { id: "d", text: "Efficiency of solar cells in cold weather: a review." },
  { id: "e", text: "Cold brew coffee recipes." },
];
/** As first-stage candidates; b2 shares b's first-stage score and rank too (families may read them), so b and b2 truly tie. */
const TIED: Candidate[] = DOCS.map((document, i) => ({ document, score: 10 - i, rank: i + 1 }));
TIED[3] = { ...TIED[3], score: TIED[1].score, rank: TIED[1].rank };
const INSTRUCTION = "prefer peer-reviewed measurements";

/** A custom family registered by this test: a plain Reranker (no RerankerBase), scored by shared words. */
let customCalls = 0;
const CUSTOM_TYPE = "conformance-custom";
registerReranker(CUSTOM_TYPE, async () => {
  const r: Reranker = {
    name: "custom:word-overlap",
    async rerank(query, candidates: readonly CandidateInput[], options: RerankOptions = {}): Promise<RankedResult[]> {
      customCalls++;
      const q = new Set(String(typeof query === "string" ? query : query.text).toLowerCase().split(/\W+/));
      const docs = candidates.map((c, i) => (typeof c === "string" ? { id: String(i), text: c } : "document" in c ? c.document : c));
      const scored = docs.map((d, index) => ({ index, id: d.id, score: d.text.toLowerCase().split(/\W+/).filter((w) => q.has(w)).length }));
      scored.sort((x, y) => y.score - x.score || x.index - y.index);
      return options.topN ? scored.slice(0, options.topN) : scored;
    },
  };
  return r;
}, "test-only family: a plain Reranker on the shared path");

interface Fixture {
  /** Shown in the test names (a family may have several variants, e.g. llm modes). */
  label: string;
  spec(): RerankerSpec;
  /** Upstream work done so far (HTTP requests, or calls into the model): must not grow on a cache hit or a refusal. */
  upstream(): number;
  instruction: "accepted" | "refused";
  /** For an accepted instruction: whether the last upstream request carried it. */
  instructionSeen?(): boolean;
  /** False for a pointwise family whose scores depend on the candidate list (never cached). */
  cacheable?: boolean;
  /** A listwise family that can use topN to do less: upstream work for the list with topN 1 is below the work without. */
  topNSavesWork?: boolean;
}

interface FixtureGroup {
  start(): Promise<void>;
  stop(): Promise<void>;
  fixtures: Fixture[];
}

const servers = new Map<string, HarnessServer>();
const requests = (name: string) => servers.get(name)?.requests.length ?? 0;
const lastPrompt = (name: string) => JSON.stringify(servers.get(name)?.requests.at(-1)?.body ?? "");

function vendorGroup(type: FakeVendor): FixtureGroup {
  return {
    start: async () => void servers.set(type, await startFakeVendor(type, { apiKey: KEY })),
    stop: async () => servers.get(type)?.close(),
    fixtures: [{ label: type, spec: () => ({ type, baseUrl: servers.get(type)!.url, apiKey: KEY, ...FAST }), upstream: () => requests(type), instruction: "refused" }],
  };
}

let bertDir = "";
let decoderDir = "";
let colbertDir = "";
let modelCalls = 0;

/** type → how to build it. A registered type missing here fails. */
const FIXTURES: Record<string, FixtureGroup> = {
  "cross-encoder": {
    start: async () => {
      bertDir = await ensureGeneratedModel("tiny-bert");
      decoderDir = await ensureGeneratedModel("tiny-qwen3");
    },
    stop: async () => {},
    fixtures: [
      { label: "cross-encoder (tiny-bert)", spec: () => ({ type: "cross-encoder", model: bertDir }), upstream: () => modelCalls, instruction: "refused" },
      // A decoder model (config.json *ForCausalLM) through the same spec: it reads the instruction.
      { label: "cross-encoder (tiny-qwen3 decoder)", spec: () => ({ type: "cross-encoder", model: decoderDir }), upstream: () => modelCalls, instruction: "accepted" },
    ],
  },
  colbert: {
    start: async () => void (colbertDir = await ensureGeneratedModel("tiny-colbert")),
    stop: async () => {},
    fixtures: [{ label: "colbert (tiny-colbert)", spec: () => ({ type: "colbert", model: colbertDir }), upstream: () => modelCalls, instruction: "refused" }],
  },
  learned: {
    start: async () => {},
    stop: async () => {},
    // Scores depend on the candidate list (list statistics without an index, the no-match floor), so never cached.
    fixtures: [{ label: "learned (shipped default)", spec: () => ({ type: "learned" }), upstream: () => modelCalls, instruction: "refused", cacheable: false }],
  },
  cohere: vendorGroup("cohere"),
  jina: vendorGroup("jina"),
  voyage: vendorGroup("voyage"),
  mixedbread: vendorGroup("mixedbread"),
  tei: vendorGroup("tei"),
  infinity: vendorGroup("infinity"),
  vllm: vendorGroup("vllm"),
  "vllm-score": vendorGroup("vllm-score"),
  "llama-cpp": vendorGroup("llama-cpp"),
  llm: {
    start: async () => void servers.set("llm", await startFakeChat({ logprobs: true })),
    stop: async () => servers.get("llm")?.close(),
    fixtures: (["listwise", "pointwise", "pairwise"] as const).map((mode) => ({
      label: `llm ${mode}`,
      spec: () => ({ type: "llm", mode, baseUrl: `${servers.get("llm")!.url}/v1`, model: "fake-7b", window: 4, step: 2, ...FAST }),
      upstream: () => requests("llm"),
      instruction: "accepted" as const,
      instructionSeen: () => lastPrompt("llm").includes(INSTRUCTION),
      topNSavesWork: mode === "pairwise",
    })),
  },
  [CUSTOM_TYPE]: {
    start: async () => {},
    stop: async () => {},
    // A plain Reranker is adapted: it receives the instruction and decides (this one ignores it).
    fixtures: [{ label: CUSTOM_TYPE, spec: () => ({ type: CUSTOM_TYPE }), upstream: () => customCalls, instruction: "accepted" }],
  },
};

/** Builds the reranker through the registry and counts calls into its scoring step. */
async function build(f: Fixture): Promise<RerankerBase> {
  const r = await createReranker(f.spec());
  expect(r).toBeInstanceOf(RerankerBase);
  const step = r as unknown as { score(call: ScoringCall): Promise<unknown> };
  const original = step.score.bind(r);
  vi.spyOn(step, "score").mockImplementation((call: ScoringCall) => {
    modelCalls++;
    return original(call);
  });
  return r;
}

function checkShape(results: RankedResult[], input: readonly Document[], withDocs: boolean): void {
  const seen = new Set<number>();
  for (const r of results) {
    expect(Number.isInteger(r.index) && r.index >= 0 && r.index < input.length).toBe(true);
    expect(seen.has(r.index)).toBe(false);
    seen.add(r.index);
    expect(r.id).toBe(input[r.index].id);
    expect(typeof r.score).toBe("number");
    expect(Number.isFinite(r.score) || Number.isNaN(r.score)).toBe(true);
    if (withDocs) expect(r.document).toEqual(input[r.index]);
    else expect(r.document).toBeUndefined();
  }
}

const sortKey = (s: number) => (Number.isNaN(s) ? -Infinity : s);

describe("every registered reranker family keeps the scoring contract", () => {
  const types = rerankerTypes().map((t) => t.type);

  it("covers every registered type (a new family adds a fixture here)", () => {
    expect(types).toContain(CUSTOM_TYPE);
    expect(types.filter((t) => !(t in FIXTURES))).toEqual([]);
  });

  for (const type of types) {
    const group = FIXTURES[type];
    if (!group) continue; // reported by the test above
    describe(type, () => {
      beforeAll(() => group.start());
      afterAll(() => group.stop());

      for (const f of group.fixtures) {
        describe(f.label, () => {
          let r: RerankerBase;
          beforeAll(async () => {
            r = await build(f);
          });
          afterAll(async () => {
            await r?.close();
          });

          it("answers one result per candidate, indexing the input, with documents unless returnDocuments is false; ties keep input order", async () => {
            const out = await r.rerank(QUERY, TIED);
            expect(out).toHaveLength(DOCS.length);
            checkShape(out, DOCS, true);
            const bare = await r.rerank(QUERY, DOCS, { returnDocuments: false });
            checkShape(bare, DOCS, false);
            if (r.scoring === "pointwise") {
              for (let i = 1; i < out.length; i++) {
                const [prev, cur] = [out[i - 1], out[i]];
                expect(sortKey(prev.score)).toBeGreaterThanOrEqual(sortKey(cur.score));
                if (sortKey(prev.score) === sortKey(cur.score)) expect(prev.index).toBeLessThan(cur.index);
              }
              const pos = (id: string) => out.findIndex((x) => x.id === id);
              expect(out[pos("b")].score).toBe(out[pos("b2")].score);
              expect(pos("b")).toBeLessThan(pos("b2"));
            }
          });

          it("honours topN, and a listwise family is given it", async () => {
            const full = await r.rerank(QUERY, DOCS);
            const top = await r.rerank(QUERY, DOCS, { topN: 2 });
            expect(top).toHaveLength(2);
            checkShape(top, DOCS, true);
            if (r.scoring === "pointwise") expect(top.map((x) => x.index)).toEqual(full.slice(0, 2).map((x) => x.index));
            const step = r as unknown as { score: { mock: { calls: Array<[ScoringCall]> } } };
            const last = step.score.mock.calls.at(-1)![0];
            expect(last.topN).toBe(2);
            if (f.topNSavesWork) {
              let before = f.upstream();
              await r.rerank(QUERY, DOCS);
              const all = f.upstream() - before;
              before = f.upstream();
              await r.rerank(QUERY, DOCS, { topN: 1 });
              expect(f.upstream() - before).toBeLessThan(all);
            }
          });

          it("answers [] for no candidates and ABORTED for a pre-aborted signal, without upstream work", async () => {
            const before = f.upstream();
            expect(await r.rerank(QUERY, [])).toEqual([]);
            const ac = new AbortController();
            ac.abort();
            expect((await caught(r.rerank(QUERY, DOCS, { signal: ac.signal }))).code).toBe("ABORTED");
            expect(f.upstream()).toBe(before);
          });

          it(f.instruction === "accepted" ? "passes the instruction to the family" : "refuses an instruction with INVALID_INPUT naming it", async () => {
            const before = f.upstream();
            if (f.instruction === "accepted") {
              const out = await r.rerank(QUERY, DOCS, { instruction: INSTRUCTION });
              checkShape(out, DOCS, true);
              if (f.instructionSeen) expect(f.instructionSeen()).toBe(true);
              const viaQuery = await r.rerank({ text: QUERY, instruction: INSTRUCTION }, DOCS.slice(0, 2));
              expect(viaQuery).toHaveLength(2);
            } else {
              for (const call of [() => r.rerank(QUERY, DOCS, { instruction: INSTRUCTION }), () => r.rerank({ text: QUERY, instruction: INSTRUCTION }, DOCS)]) {
                const err = await caught(call());
                expect(err.code).toBe("INVALID_INPUT");
                expect(err.details.field).toBe("instruction");
              }
              expect(f.upstream()).toBe(before);
            }
          });

          it(cacheRuleName(f), async () => {
            const cache = new MemoryScoreCache();
            r.useCache(cache);
            try {
              const first = await r.rerank(QUERY, DOCS);
              const before = f.upstream();
              const second = await r.rerank(QUERY, DOCS);
              if (r.scoring === "pointwise" && f.cacheable !== false) {
                expect(second.map((x) => [x.index, x.score])).toEqual(first.map((x) => [x.index, x.score]));
                expect(second.every((x) => x.details?.cached === true)).toBe(true);
                expect(f.upstream()).toBe(before);
                expect(cache.stats().hits).toBe(DOCS.length);
              } else {
                expect(second.some((x) => x.details?.cached === true)).toBe(false);
                expect(f.upstream()).toBeGreaterThan(before);
                expect(cache.stats()).toMatchObject({ hits: 0, misses: 0 });
              }
            } finally {
              r.useCache(undefined);
            }
          });

          it("rejects bad input with INVALID_INPUT naming the field, before any upstream work", async () => {
            const before = f.upstream();
            const cases: Array<[() => Promise<unknown>, string]> = [
              [() => r.rerank("   ", DOCS), "query"],
              [() => r.rerank(QUERY, "not a list" as unknown as Document[]), "candidates"],
              [() => r.rerank(QUERY, DOCS, { topN: 0 }), "topN"],
              [() => r.rerank(QUERY, DOCS, { topN: 1.5 }), "topN"],
              [() => r.rerank(QUERY, [{ id: "x", text: 7 as unknown as string }]), "candidates[0].text"],
              [() => r.rerank(QUERY, DOCS, { family: "fast" as unknown as RerankOptions["family"] }), "family"],
            ];
            for (const [call, field] of cases) {
              const err = await caught(call());
              expect(err.code).toBe("INVALID_INPUT");
              expect(err.details.field).toBe(field);
            }
            expect(f.upstream()).toBe(before);
          });
        });
      }
    });
  }
});

function cacheRuleName(f: Fixture): string {
  return f.cacheable === false
    ? "is never cached (its scores depend on the candidate list)"
    : "serves a repeated pointwise call from the score cache without upstream work; a listwise one never uses it";
}
