import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SweepReport } from "../../src/eval/sweep/sweep.js";
import { renderSweepReport } from "../../src/report/sweep-report.js";
import { launchChromium } from "../support/chromium.js";

function report(): SweepReport {
  const rows = [10, 20, 50, 100, 200].map((c, i) => ({
    candidates: c,
    ndcg10: [0.61, 0.65, 0.668, 0.671, 0.672][i],
    mrr: [0.6, 0.63, 0.65, 0.655, 0.656][i],
    recall: [0.78, 0.84, 0.9, 0.925, 0.95][i],
    rerankP50Ms: c * 0.4,
    rerankP95Ms: c * 0.6,
    rerankMeanMs: c * 0.45,
    endToEndP95Ms: c * 0.6 + 2,
    fitsBudget: c * 0.6 + 2 <= 80,
  }));
  return {
    reranker: "learned </script><b>x</b>",
    numQueries: 40,
    budgetMs: 80,
    tolerance: 0.005,
    firstStage: { ndcg10: 0.6, mrr: 0.58, searchP50Ms: 1, searchP95Ms: 2 },
    rows,
    recommendation: { candidates: 50, reason: "50 candidates reach nDCG@10 0.6680, within 0.005 of the best (0.6710 at 100)" },
    perQuery: { candidates: 50, queries: Array.from({ length: 40 }, (_, i) => ({ query: `q${i}`, firstStage: 0.5, reranked: 0.5 + (i % 7) / 10 - 0.2, delta: (i % 7) / 10 - 0.2 })) },
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
    expect(html).toContain("Use 50 candidates.");
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
    expect(await page.locator("tbody tr").count()).toBe(5);
    expect(await page.locator("tr.rec").textContent()).toContain("recommended");
    if (process.env.WINNOW_REPORT_SCREENSHOT) await page.screenshot({ path: process.env.WINNOW_REPORT_SCREENSHOT, fullPage: true });
    await page.close();
  });
});
