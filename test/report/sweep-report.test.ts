import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SweepReport } from "../../src/eval/sweep/sweep.js";
import { renderSweepReport } from "../../src/report/sweep-report.js";
import { launchChromium } from "../support/chromium.js";

const doc = (id: string, grade: number | null) => ({ id, grade, excerpt: `excerpt of ${id} ${"and a long abstract ".repeat(12)}` });

function report(rerankers = ["learned </script><b>x</b>", "cross-encoder"]): SweepReport {
  const counts = [10, 20, 50, 100, 200];
  const rows = rerankers.flatMap((name, ri) =>
    counts.map((c, i) => ({
      reranker: name,
      candidates: c,
      metrics: { ndcg_cut_10: [0.61, 0.65, 0.668, 0.671, 0.672][i] - ri * 0.02, recip_rank: [0.6, 0.63, 0.65, 0.655, 0.656][i], recall_10: 0.7, [`recall_${c}`]: [0.78, 0.84, 0.9, 0.925, 0.95][i] },
      p50Ms: c * 0.4 + 1,
      p95Ms: c * 0.6 + 2 + ri * 10,
      rerankP50Ms: c * 0.4,
      rerankP95Ms: c * 0.6,
      rerankMeanMs: c * 0.45,
      pValue: [0.2, 0.01, 0.001, 0.001, 0.0004][i],
      pValueAdjusted: Math.min(1, 10 * [0.2, 0.01, 0.001, 0.001, 0.0004][i]),
      delta: [0.61, 0.65, 0.668, 0.671, 0.672][i] - ri * 0.02 - 0.6,
      fitsBudget: c * 0.6 + 2 + ri * 10 <= 80,
    })),
  );
  const queries = Array.from({ length: 40 }, (_, i) => {
    const delta = (i % 7) / 10 - 0.2;
    return {
      query: `q${i}`,
      text: `query text ${i}`,
      before: 0.5,
      after: 0.5 + delta,
      delta,
      firstStage: [doc(`d${i}-a`, 0), doc(`d${i}-b`, null), doc(`d${i}-c`, 2)],
      reranked: [doc(`d${i}-c`, 2), doc(`d${i}-a`, 0), doc(`d${i}-b`, null)],
    };
  }).sort((a, b) => b.delta - a.delta);
  return {
    metric: "ndcg_cut_10",
    alpha: 0.05,
    rerankers,
    numQueries: 40,
    budgetMs: 80,
    tolerance: 0.005,
    firstStage: { metrics: { ndcg_cut_10: 0.6, recip_rank: 0.58, recall_10: 0.7 }, p50Ms: 1, p95Ms: 2, fitsBudget: true },
    rows,
    recommendation: { reranker: rerankers[0], candidates: 50, metrics: rows[2].metrics, reason: "rerank 50 candidates with learned: ndcg_cut_10 0.6680 against 0.6000" },
    perQuery: { metric: "ndcg_cut_10", k: 10, before: "first stage", after: `${rerankers[0]}@50`, reranker: rerankers[0], candidates: 50, queries },
  };
}

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

describe("sweep HTML report", () => {
  it("is one self-contained file with the data, the table and no external resources", () => {
    const html = renderSweepReport(report(), { dataset: "scifact", split: "test", generatedAt: "2026-01-01T00:00:00Z" });
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/<link[^>]+href=/);
    expect(html).toContain("echarts"); // the inlined bundle
    expect(html).toContain("<b>Use learned &lt;/script&gt;&lt;b&gt;x&lt;/b&gt; on 50 candidates.</b>");
    expect(html).toContain('<a href="#queries">');
    // a hostile reranker name is escaped in HTML and cannot close the data script
    expect(html).not.toContain("</script><b>x</b>");
    expect(html).toContain("learned &lt;/script&gt;&lt;b&gt;x&lt;/b&gt;");
  });

  it("renders in headless Chromium with no console errors and three drawn charts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "winnow-report-"));
    const file = join(dir, "report.html");
    writeFileSync(file, renderSweepReport(report(), { dataset: "scifact", split: "test" }));
    const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(m.text());
    });
    page.on("pageerror", (e) => problems.push(String(e)));
    // Offline: any network request would be a broken self-containment promise.
    await page.route("**/*", (route) => (route.request().url().startsWith("file:") ? route.continue() : route.abort()));
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector("body[data-charts-ready=true]", { timeout: 20_000 });
    expect(problems).toEqual([]);
    for (const id of ["chart-quality", "chart-latency", "chart-lift"]) {
      const painted = await page.evaluate((chartId) => {
        // Runs in the page; the project compiles without DOM types, so describe the little it uses.
        type Canvas = { width: number; height: number; getContext(kind: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } };
        const doc = (globalThis as unknown as { document: { querySelector(selector: string): Canvas | null } }).document;
        const canvas = doc.querySelector(`#${chartId} canvas`);
        if (!canvas || canvas.width === 0) return { canvas: false, coloured: 0 };
        const ctx = canvas.getContext("2d");
        const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        let coloured = 0;
        // count pixels that are neither transparent nor white: axes, lines, bars
        for (let i = 0; i < px.length; i += 4) if (px[i + 3] > 0 && (px[i] < 240 || px[i + 1] < 240 || px[i + 2] < 240)) coloured++;
        return { canvas: true, coloured };
      }, id);
      expect(painted.canvas, id).toBe(true);
      expect(painted.coloured, id).toBeGreaterThan(2_000);
    }
    // the first stage alone, then 5 counts for each of the 2 rerankers, one of them recommended
    expect(await page.locator("tbody tr").count()).toBe(11);
    expect(await page.locator("tbody tr.first").textContent()).toContain("first stage alone");
    expect(await page.locator("tr.rec").count()).toBe(1);
    expect(await page.locator("tr.rec").textContent()).toContain("recommended");
    // one curve per reranker (plus the recall ceiling) in the quality chart's legend
    const legend = await page.evaluate(() => {
      const g = globalThis as unknown as { echarts: { getInstanceByDom(el: unknown): { getOption(): { series: { name: string }[] } } }; document: { getElementById(id: string): unknown } };
      return g.echarts.getInstanceByDom(g.document.getElementById("chart-quality")).getOption().series.map((s) => s.name);
    });
    expect(legend).toEqual(["Recall ceiling", "learned </script><b>x</b>", "cross-encoder"]);
    if (process.env.WINNOW_REPORT_SCREENSHOT) await page.screenshot({ path: process.env.WINNOW_REPORT_SCREENSHOT, fullPage: true });
    await page.close();
  });

  it("links to a per-query view: both top-10 lists side by side, relevance marked, sorted by lift and re-sortable", async () => {
    const dir = mkdtempSync(join(tmpdir(), "winnow-report-"));
    const file = join(dir, "report.html");
    writeFileSync(file, renderSweepReport(report(), { dataset: "scifact" }));
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(String(e)));
    await page.route("**/*", (route) => (route.request().url().startsWith("file:") ? route.continue() : route.abort()));
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector("body[data-charts-ready=true]", { timeout: 20_000 });
    await page.locator(".reason a[href='#queries']").click();
    expect(page.url()).toMatch(/#queries$/);
    expect(await page.locator("#queries").isVisible()).toBe(true);
    const cards = page.locator("#pq-list > article");
    expect(await cards.count()).toBe(40);
    const deltas = async () => (await cards.evaluateAll((els) => els.map((e) => Number((e as unknown as { dataset: { delta: string } }).dataset.delta))));
    const helpedFirst = await deltas();
    expect(helpedFirst).toEqual([...helpedFirst].sort((a, b) => b - a));
    expect(helpedFirst[0]).toBeGreaterThan(0);
    const top = cards.first();
    expect(await top.locator("ol").count()).toBe(2);
    expect(await top.locator(".side").allTextContents()).toEqual(["first stage", "learned </script><b>x</b>@50"]);
    // judged relevant, judged not relevant and unjudged are told apart
    expect(await top.locator("ol").nth(1).locator("li").evaluateAll((els) => els.map((e) => (e as unknown as { className: string }).className))).toEqual(["rel", "nonrel", "unjudged"]);
    expect(await top.locator("li.rel .doc").first().getAttribute("data-grade")).toBe("2");
    expect(await top.locator("li.rel").first().textContent()).toContain("excerpt of");
    // both lists stay inside their card, long excerpts included
    const card = (await top.boundingBox())!;
    for (const li of await top.locator("li").all()) {
      const box = (await li.boundingBox())!;
      expect(box.x + box.width).toBeLessThanOrEqual(card.x + card.width + 0.5);
    }
    await page.locator("button[data-sort=hurt]").click();
    const hurtFirst = await deltas();
    expect(hurtFirst).toEqual([...hurtFirst].sort((a, b) => a - b));
    expect(hurtFirst[0]).toBeLessThan(0);
    expect(await cards.first().getAttribute("class")).toContain("hurt");
    expect(await page.locator("button[data-sort=hurt]").getAttribute("aria-pressed")).toBe("true");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("says don't rerank, with the first stage alone marked, when that is the recommendation", () => {
    const r = report(["learned"]);
    r.recommendation = { reranker: null, candidates: 0, metrics: r.firstStage.metrics, reason: "don't rerank: no reranker and candidate count beats the first stage on ndcg_cut_10 significantly (α=0.05; no latency budget)" };
    const html = renderSweepReport(r, {});
    expect(html).toContain("<b>Don't rerank.</b> no reranker and candidate count beats");
    expect(html).toMatch(/<tr class="first rec"><td>first stage alone<\/td><td class="num">0 <span class="pill">recommended<\/span>/);
  });
});
