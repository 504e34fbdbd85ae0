import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { register as registerEval } from "../../src/cli/commands/eval.js";
import { register as registerLabel } from "../../src/cli/commands/label.js";
import { serveConfigFromFlags } from "../../src/cli/commands/serve.js";
import type { Candidate, CandidateInput, QueryInput, RankedResult, Reranker } from "../../src/core/types.js";
import { readRequestLog, requestLogRuns } from "../../src/eval/readers/request-log.js";
import { registerReranker } from "../../src/rerankers/registry.js";
import { createServer } from "../../src/server/index.js";
import { documentId, RequestLog, type RequestLogRecord } from "../../src/server/request-log.js";
import { resolveServerConfig } from "../../src/server/config.js";
import { runCommand } from "../support/run-command.js";

const dir = () => mkdtempSync(join(tmpdir(), "winnow-request-log-"));
const lines = (file: string): RequestLogRecord[] => readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as RequestLogRecord);
const result = (index: number, score: number): RankedResult => ({ index, id: String(index), score });
const options = (file: string, extra: Partial<ConstructorParameters<typeof RequestLog>[0]> = {}) => ({ file, sample: 1, texts: false, maxBytes: 1 << 20, maxQueuedLines: 100, ...extra });

afterEach(() => vi.restoreAllMocks());

describe("RequestLog", () => {
  it("logs queries, document ids and the answered order; texts only when enabled", async () => {
    const file = join(dir(), "log.jsonl");
    const log = new RequestLog(options(file));
    expect(log.record("m", "why do corals bleach", ["warm water", "stock markets"], [result(1, 0.9), result(0, 0.1)])).toBe(true);
    await log.close();
    const [r] = lines(file);
    expect(r).toMatchObject({ v: 1, model: "m", query: "why do corals bleach", documents: [{ id: documentId("warm water") }, { id: documentId("stock markets") }], results: [{ index: 1, score: 0.9 }, { index: 0, score: 0.1 }] });
    expect(r.documents[0]).not.toHaveProperty("text");
    expect(readFileSync(file, "utf8")).not.toContain("warm water");
    const withTexts = new RequestLog(options(file, { texts: true }));
    withTexts.record("m", "q", ["warm water"], [result(0, 1)]);
    await withTexts.close();
    expect(lines(file)[1].documents).toEqual([{ id: documentId("warm water"), text: "warm water" }]);
  });

  it("samples the share asked for", async () => {
    const file = join(dir(), "log.jsonl");
    let n = 0;
    const log = new RequestLog(options(file, { sample: 0.25 }), () => (n++ % 4) / 4); // 0, .25, .5, .75, 0…
    for (let i = 0; i < 40; i++) log.record("m", `q${i}`, ["d"], [result(0, 1)]);
    await log.close();
    expect(lines(file).map((r) => r.query)).toEqual(Array.from({ length: 10 }, (_, i) => `q${4 * i}`));
  });

  it("counts write errors and reports the first, and answers on", async () => {
    const seen: number[] = [];
    const log = new RequestLog(options("/no/such/folder/log.jsonl"), Math.random, (_err, errors) => seen.push(errors));
    for (let i = 0; i < 3; i++) expect(log.record("m", "q", ["d"], [result(0, 1)])).toBe(true);
    await log.close();
    expect(log.errors).toBe(3);
    expect(seen).toEqual([1]);
  });

  it("drops (and counts) what it cannot queue instead of waiting, and rotates at maxBytes", async () => {
    const file = join(dir(), "log.jsonl");
    const log = new RequestLog(options(file, { maxQueuedLines: 5, maxBytes: 2_000 }));
    for (let i = 0; i < 50; i++) log.record("m", `query ${i} ${"x".repeat(100)}`, ["d"], [result(0, 1)]);
    expect(log.dropped).toBeGreaterThan(0);
    await log.flush();
    for (let i = 0; i < 30; i++) {
      log.record("m", `later ${i} ${"x".repeat(100)}`, ["d"], [result(0, 1)]);
      await log.flush();
    }
    await log.close();
    expect(existsSync(`${file}.1`)).toBe(true);
    expect(statSync(file).size).toBeLessThanOrEqual(2_000);
    // every line of both files parses (none torn), and they are the latest ones, in order
    const all = [...lines(`${file}.1`), ...lines(file)].map((r) => r.query.split(" ").slice(0, 2).join(" "));
    expect(all.length).toBeGreaterThan(5);
    expect(all.length).toBeLessThan(log.written);
    expect(all.slice(-5)).toEqual(Array.from({ length: 5 }, (_, i) => `later ${25 + i}`));
  });

  it("is off unless asked for; the serve flags fill the documented defaults", () => {
    expect(resolveServerConfig({ models: [] , pipeline: "x.yaml" }).requestLog).toBeUndefined();
    const config = serveConfigFromFlags({ reranker: "learned", requestLog: "/tmp/r.jsonl", docs: true } as Parameters<typeof serveConfigFromFlags>[0]);
    expect(resolveServerConfig(config).requestLog).toEqual({ file: "/tmp/r.jsonl", sample: 0.1, texts: false, maxBytes: 256 * 2 ** 20, maxQueuedLines: 1_000 });
    expect(() => serveConfigFromFlags({ reranker: "learned", requestLogTexts: true, docs: true } as Parameters<typeof serveConfigFromFlags>[0])).toThrow(/need --request-log FILE/);
    expect(() => serveConfigFromFlags({ reranker: "learned", requestLog: "/no/such/folder/r.jsonl", docs: true } as Parameters<typeof serveConfigFromFlags>[0])).toThrow(/--request-log \/no\/such\/folder\/r\.jsonl: the folder \/no\/such\/folder does not exist/);
    expect(() => serveConfigFromFlags({ reranker: "learned", requestLog: "/tmp/r", requestLogSample: "2", docs: true } as Parameters<typeof serveConfigFromFlags>[0])).toThrow(/--request-log-sample/);
  });
});

/** Puts documents mentioning "coral" first, else keeps the sent order. */
const coralFirst: Reranker = {
  name: "coral-first",
  async rerank(_q: QueryInput, candidates: readonly CandidateInput[]): Promise<RankedResult[]> {
    const texts = candidates.map((c) => (typeof c === "string" ? c : "document" in c ? c.document.text : (c as { text: string }).text));
    return texts.map((t, index) => ({ index, id: String(index), score: (t.includes("coral") ? 10 : 0) - index })).sort((a, b) => b.score - a.score);
  },
};
registerReranker("test-coral-judge", async () => ({
  name: "test-coral-judge",
  async rerank(_q: QueryInput, candidates: readonly unknown[]): Promise<RankedResult[]> {
    const cs = candidates as Candidate[];
    return cs.map((c, index) => ({ index, id: c.document.id, score: c.document.text.includes("coral") ? 1 : 0 })).sort((a, b) => b.score - a.score || a.index - b.index);
  },
}));

describe("a served request log, read back by winnow label and winnow eval", () => {
  it("the server logs sampled requests; label turns them into qrels and eval reports the served order's lift", async () => {
    const work = dir();
    const file = join(work, "requests.jsonl");
    const app = createServer({ logLevel: "silent", port: 0, models: [{ id: "coral", reranker: coralFirst }], requestLog: { file, sample: 1, texts: true } }, { env: {} });
    await app.listen({ host: "127.0.0.1", port: 0 });
    await app.winnow.models.loadAll();
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const documents = ["stock markets fell", "interest rates rose", "warm water bleaches coral reefs"];
    for (const query of ["why do corals bleach", "coral reef heat"]) {
      const res = await fetch(`${url}/v2/rerank`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "coral", query, documents }) });
      expect(res.status).toBe(200);
    }
    await app.close();
    const records = await readRequestLog(file);
    expect(records.map((r) => r.served)).toEqual([[2, 0, 1], [2, 0, 1]]);
    const { firstStage, served } = requestLogRuns(records);
    expect(firstStage.get(records[0].id)!.map((e) => e.docId)).toEqual(documents.map(documentId));
    expect([...served.get(records[0].id)!].sort((a, b) => b.score - a.score)[0].docId).toBe(documentId(documents[2]));

    const qrels = join(work, "labels.tsv");
    const summary = JSON.parse(await runCommand(registerLabel, ["label", "--request-log", file, "--reranker", "test-coral-judge", "--rank-cuts", "1,1,1", "--out", qrels, "--format", "json"]));
    expect(summary).toMatchObject({ requestLog: file, queries: 2, labelled: 2 });
    const rows = readFileSync(qrels, "utf8").trim().split("\n").slice(1).map((l) => l.split("\t"));
    expect(rows.filter((r) => r[2] === "3").map((r) => r[1])).toEqual([documentId(documents[2]), documentId(documents[2])]);

    const json = JSON.parse(await runCommand(registerEval, ["eval", "--request-log", file, "--qrels", qrels, "--metrics", "ndcg_cut_10,recip_rank", "--format", "json"]));
    expect(json.numQueries).toBe(2);
    // sent: the relevant document third (RR 1/3); served: first (RR 1)
    expect(json.firstStage.recip_rank).toBeCloseTo(1 / 3, 12);
    expect(json.metrics.recip_rank).toBe(1);
    expect(json.lift.metrics.recip_rank.wins).toBe(2);
    expect(json.warning).toBeUndefined();
  });

  it("label refuses a log without texts, and eval needs labels for the log's requests", async () => {
    const work = dir();
    const file = join(work, "requests.jsonl");
    const log = new RequestLog(options(file));
    log.record("m", "q", ["a", "b"], [result(1, 1), result(0, 0)]);
    await log.close();
    await expect(runCommand(registerLabel, ["label", "--request-log", file, "--reranker", "test-coral-judge", "--out", join(work, "l.tsv")])).rejects.toThrow(/has no document texts: labelling needs them \(start the server with --request-log-texts\)/);
    writeFileSync(join(work, "other.tsv"), "query-id\tcorpus-id\tscore\nnot-logged\ta\t1\n");
    await expect(runCommand(registerEval, ["eval", "--request-log", file, "--qrels", join(work, "other.tsv")])).rejects.toThrow(/judges none of the 1 requests/);
    await expect(runCommand(registerEval, ["eval", "--request-log", file])).rejects.toThrow(/--request-log and --qrels go together/);
    writeFileSync(join(work, "bad.jsonl"), '{"v":1,"id":"x","query":"q","documents":[{"id":"a"}],"results":[{"index":3}]}\n');
    await expect(readRequestLog(join(work, "bad.jsonl"))).rejects.toThrow(/bad\.jsonl:1: results\[0\]\.index must index documents \(0\.\.0\)/);
  });
});
