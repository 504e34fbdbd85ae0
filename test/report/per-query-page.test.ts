import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { register } from "../../src/cli/commands/compare.js";
import { evaluateRun } from "../../src/eval/evaluate.js";
import { perQueryView } from "../../src/eval/per-query-view.js";
import type { Run } from "../../src/eval/run.js";
import { renderPerQueryPage } from "../../src/report/per-query-view.js";
import { launchChromium } from "../support/chromium.js";
import { runCommand } from "../support/run-command.js";

// Three queries, one relevant document each (q2's graded 2): B lifts q1, hurts q2, leaves q3.
const qrels = new Map([
  ["q1", new Map([["d3", 1]])],
  ["q2", new Map([["d1", 2], ["d9", 0]])],
  ["q3", new Map([["d1", 1]])],
]);
const list = (...ids: string[]) => ids.map((docId, i) => ({ docId, score: 10 - i }));
const runA: Run = new Map([["q1", list("d1", "d2", "d3")], ["q2", list("d1", "d9", "d2")], ["q3", list("d1", "d2")]]);
const runB: Run = new Map([["q1", list("d3", "d1", "d2")], ["q2", list("d9", "d2", "d1")], ["q3", list("d1", "d2")]]);

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

describe("per-query view", () => {
  it("pairs the queries, keeps trec_eval's order and the judged grades, most helped first", () => {
    const view = perQueryView(qrels, runA, runB, evaluateRun(qrels, runA, ["ndcg_cut_10"]), evaluateRun(qrels, runB, ["ndcg_cut_10"]), { metric: "ndcg_cut_10", before: "A", after: "B" });
    expect(view.queries.map((q) => q.query)).toEqual(["q1", "q3", "q2"]);
    expect(view.queries[0].delta).toBeGreaterThan(0);
    expect(view.queries[2].delta).toBeLessThan(0);
    expect(view.queries[2].reranked).toEqual([{ id: "d9", grade: 0 }, { id: "d2", grade: null }, { id: "d1", grade: 2 }]);
  });

  it("winnow compare --html writes a page that renders in Chromium, sorted and re-sortable", async () => {
    const dir = mkdtempSync(join(tmpdir(), "winnow-compare-html-"));
    const write = (name: string, run: Run) =>
      writeFileSync(join(dir, name), [...run].flatMap(([q, es]) => es.map((e, i) => `${q} Q0 ${e.docId} ${i + 1} ${e.score} x`)).join("\n") + "\n");
    write("a.run", runA);
    write("b.run", runB);
    writeFileSync(join(dir, "qrels.tsv"), "query-id\tcorpus-id\tscore\nq1\td3\t1\nq2\td1\t2\nq2\td9\t0\nq3\td1\t1\n");
    const html = join(dir, "view.html");
    await runCommand(register, ["compare", "--qrels", join(dir, "qrels.tsv"), join(dir, "a.run"), join(dir, "b.run"), "--html", html, "--format", "json"]);
    expect(readFileSync(html, "utf8")).not.toMatch(/<script[^>]+src=/);
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(String(e)));
    await page.route("**/*", (route) => (route.request().url().startsWith("file:") ? route.continue() : route.abort()));
    await page.goto(pathToFileURL(html).href);
    const ids = () => page.locator("#pq-list > article .qid").allTextContents();
    expect(await ids()).toEqual(["q1", "q3", "q2"]);
    expect(await page.locator("#pq-list > article").first().getAttribute("class")).toBe("pq helped");
    expect(await page.locator("h1").textContent()).toBe("b.run against a.run: ndcg_cut_10 per query");
    // q2 in B: judged non-relevant first, unjudged, then the grade-2 document
    const q2 = page.locator("article[data-query=q2] ol").nth(1).locator("li");
    expect(await q2.evaluateAll((els) => els.map((e) => (e as unknown as { className: string }).className))).toEqual(["nonrel", "unjudged", "rel"]);
    await page.locator("button[data-sort=hurt]").click();
    expect(await ids()).toEqual(["q2", "q3", "q1"]);
    await page.locator("button[data-sort=query]").click();
    expect(await ids()).toEqual(["q1", "q2", "q3"]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("escapes what it shows", () => {
    const view = { metric: "map", k: 10, before: "<a>", after: "b", queries: [{ query: "<q>", text: "</script>", before: 0, after: 1, delta: 1, firstStage: [{ id: "<d>", grade: 1, excerpt: "<i>x</i>" }], reranked: [] }] };
    const html = renderPerQueryPage(view);
    expect(html).not.toMatch(/<q>|<d>|<i>x|<\/script>"/);
    expect(html).toContain("&lt;i&gt;x&lt;/i&gt;");
  });
});
