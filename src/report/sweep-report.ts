import type { SweepReport } from "../eval/sweep/sweep.js";
import { echartsBundle, escapeHtml, scriptJson } from "./echarts-bundle.js";

export interface SweepReportMeta {
  title?: string;
  dataset?: string;
  split?: string;
  firstStage?: string;
  /** When the sweep ran (ISO string); default now. */
  generatedAt?: string;
}

const fmt = (x: number, d = 4) => (Number.isFinite(x) ? x.toFixed(d) : "–");
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

function table(report: SweepReport): string {
  const rec = report.recommendation?.candidates;
  const best = Math.max(...report.rows.map((r) => r.ndcg10));
  const rows = report.rows
    .map((r) => {
      const cls = [r.candidates === rec ? "rec" : "", r.fitsBudget ? "" : "over"].filter(Boolean).join(" ");
      return `<tr class="${cls}"><td>${r.candidates}${r.candidates === rec ? ' <span class="pill">recommended</span>' : ""}</td>
<td class="num${r.ndcg10 === best ? " best" : ""}">${fmt(r.ndcg10)}</td><td class="num">${fmt(r.ndcg10 - report.firstStage.ndcg10, 4).replace(/^(?!-)/, "+")}</td>
<td class="num">${fmt(r.mrr)}</td><td class="num">${fmt(r.recall)}</td>
<td class="num">${ms(r.rerankP50Ms)}</td><td class="num">${ms(r.rerankP95Ms)}</td><td class="num">${ms(r.endToEndP95Ms)}${r.fitsBudget ? "" : " ⚠"}</td></tr>`;
    })
    .join("\n");
  return `<table><thead><tr><th>Candidates</th><th>nDCG@10</th><th>Δ vs first stage</th><th>MRR</th><th>First-stage recall@k</th><th>Rerank p50 ms</th><th>Rerank p95 ms</th><th>End-to-end p95 ms</th></tr></thead>
<tbody>${rows}</tbody></table>`;
}

/**
 * A self-contained HTML page for a sweep: the recommendation, the table, and three
 * charts (quality vs candidates with the recall ceiling, quality vs p95 latency,
 * per-query lift). ECharts is inlined, so the file works offline.
 */
export function renderSweepReport(report: SweepReport, meta: SweepReportMeta = {}): string {
  const title = meta.title ?? `Candidate sweep: ${report.reranker}${meta.dataset ? ` on ${meta.dataset}` : ""}`;
  const wins = report.perQuery.queries.filter((q) => q.delta > 1e-12).length;
  const losses = report.perQuery.queries.filter((q) => q.delta < -1e-12).length;
  const ties = report.perQuery.queries.length - wins - losses;
  const rec = report.recommendation;
  const recRow = rec ? report.rows.find((r) => r.candidates === rec.candidates) : undefined;
  const cards = [
    ["Recommended candidates", rec ? String(rec.candidates) : "none fits", rec ? "" : "no count fits the budget"],
    ["nDCG@10 at recommendation", recRow ? fmt(recRow.ndcg10) : "–", `first stage ${fmt(report.firstStage.ndcg10)}`],
    ["End-to-end p95", recRow ? `${ms(recRow.endToEndP95Ms)} ms` : "–", report.budgetMs !== undefined ? `budget ${report.budgetMs} ms` : "no budget set"],
    ["Per-query lift", `${wins} ▲  ${losses} ▼`, `${ties} unchanged, at ${report.perQuery.candidates} candidates`],
  ]
    .map(([k, v, sub]) => `<div class="card"><div class="k">${escapeHtml(k)}</div><div class="v">${escapeHtml(v)}</div><div class="sub">${escapeHtml(sub)}</div></div>`)
    .join("");
  const context = [
    meta.dataset ? `dataset <b>${escapeHtml(meta.dataset)}</b>${meta.split ? ` (${escapeHtml(meta.split)})` : ""}` : "",
    `first stage <b>${escapeHtml(meta.firstStage ?? "BM25")}</b>`,
    `reranker <b>${escapeHtml(report.reranker)}</b>`,
    `${report.numQueries} judged queries`,
    `generated ${escapeHtml(meta.generatedAt ?? new Date().toISOString())}`,
  ]
    .filter(Boolean)
    .join(" · ");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
:root { --ink:#1f2933; --muted:#66788a; --line:#e4e7eb; --accent:#2563eb; --good:#16a34a; --bad:#dc2626; --bg:#f7f8fa; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--ink); background:var(--bg); }
main { max-width:1180px; margin:0 auto; padding:28px 24px 48px; }
h1 { font-size:22px; margin:0 0 4px; } h2 { font-size:15px; margin:0 0 8px; }
.context { color:var(--muted); margin-bottom:18px; }
.reason { background:#eef4ff; border-left:4px solid var(--accent); padding:10px 14px; border-radius:4px; margin-bottom:18px; }
.cards { display:grid; grid-template-columns:repeat(4,1fr); gap:12px; margin-bottom:18px; }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
.card .k { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.card .v { font-size:24px; font-weight:650; margin:2px 0; } .card .sub { color:var(--muted); font-size:12px; }
.grid { display:grid; grid-template-columns:1fr 1fr; gap:12px; }
.panel { background:#fff; border:1px solid var(--line); border-radius:8px; padding:14px; margin-bottom:12px; }
.panel.wide { grid-column:1 / -1; }
.chart { width:100%; height:320px; }
.note { color:var(--muted); font-size:12px; margin-top:4px; }
table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }
th, td { padding:7px 10px; border-bottom:1px solid var(--line); text-align:left; } th { color:var(--muted); font-weight:600; font-size:12px; }
td.num { text-align:right; } th:not(:first-child) { text-align:right; }
tr.rec { background:#eef4ff; } tr.over td { color:#9aa5b1; } td.best { font-weight:700; }
.pill { background:var(--accent); color:#fff; border-radius:10px; padding:1px 8px; font-size:11px; margin-left:6px; }
@media (max-width: 900px) { .grid { grid-template-columns:1fr; } .cards { grid-template-columns:1fr 1fr; } }
</style></head>
<body><main>
<h1>${escapeHtml(title)}</h1>
<div class="context">${context}</div>
<div class="reason">${rec ? `<b>Use ${rec.candidates} candidates.</b> ${escapeHtml(rec.reason)}.` : `<b>No candidate count fits the ${report.budgetMs} ms budget.</b> Raise the budget or use a faster reranker.`}</div>
<div class="cards">${cards}</div>
<div class="grid">
<div class="panel"><h2>Quality vs candidates</h2><div id="chart-quality" class="chart"></div><div class="note">The recall ceiling is the share of relevant documents the first stage puts in the top k: no reranker can find what is not there.</div></div>
<div class="panel"><h2>Quality vs p95 latency</h2><div id="chart-latency" class="chart"></div><div class="note">End-to-end p95 (first stage + rerank) per query; labels are candidate counts.</div></div>
<div class="panel wide"><h2>Per-query lift (nDCG@10, ${report.perQuery.candidates} candidates vs first stage)</h2><div id="chart-lift" class="chart"></div></div>
<div class="panel wide"><h2>All counts</h2>${table(report)}</div>
</div>
</main>
<script>${echartsBundle()}</script>
<script id="sweep-data" type="application/json">${scriptJson(report)}</script>
<script>
(function () {
  var data = JSON.parse(document.getElementById("sweep-data").textContent);
  var rows = data.rows, rec = data.recommendation ? data.recommendation.candidates : null;
  var blue = "#2563eb", green = "#16a34a", red = "#dc2626", grey = "#9aa5b1", amber = "#d97706";
  var base = { animation: false, textStyle: { fontFamily: "system-ui, sans-serif" }, grid: { left: 56, right: 24, top: 40, bottom: 48 } };
  function chart(id, option) {
    var c = echarts.init(document.getElementById(id), null, { renderer: "canvas" });
    c.setOption(Object.assign({}, base, option));
    window.addEventListener("resize", function () { c.resize(); });
    return c;
  }
  var xs = rows.map(function (r) { return String(r.candidates); });
  chart("chart-quality", {
    tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "–" : v.toFixed(4); } },
    legend: { top: 4 },
    xAxis: { type: "category", data: xs, name: "candidates reranked", nameLocation: "middle", nameGap: 28 },
    // Start the axis just below the lowest curve so gaps of a few points stay visible.
    yAxis: { type: "value", min: function (v) { return Math.max(0, Math.floor((v.min - 0.05) * 10) / 10); }, max: 1, name: "score" },
    series: [
      { name: "Recall ceiling", type: "line", data: rows.map(function (r) { return r.recall; }), lineStyle: { type: "dashed", color: grey }, itemStyle: { color: grey }, areaStyle: { color: "rgba(154,165,177,0.12)" } },
      { name: "nDCG@10", type: "line", data: rows.map(function (r) { return r.ndcg10; }), itemStyle: { color: blue }, lineStyle: { width: 3 }, symbolSize: 8,
        markPoint: rec == null ? undefined : { symbol: "pin", symbolSize: 46, itemStyle: { color: blue }, data: [{ name: "recommended", coord: [String(rec), rows.filter(function (r) { return r.candidates === rec; })[0].ndcg10], value: "★" }] },
        markLine: { symbol: "none", label: { formatter: "first stage {c}", position: "insideStartBottom" }, lineStyle: { color: amber, type: "dotted" }, data: [{ yAxis: Number(data.firstStage.ndcg10.toFixed(4)) }] } },
      { name: "MRR", type: "line", data: rows.map(function (r) { return r.mrr; }), itemStyle: { color: green }, symbolSize: 6 }
    ]
  });
  var latencyLines = data.budgetMs == null ? undefined : { symbol: "none", lineStyle: { color: red, type: "dashed" }, label: { formatter: "budget " + data.budgetMs + " ms" }, data: [{ xAxis: data.budgetMs }] };
  chart("chart-latency", {
    tooltip: { trigger: "item", formatter: function (p) { return p.data[2] + " candidates<br>p95 " + p.data[0].toFixed(1) + " ms<br>nDCG@10 " + p.data[1].toFixed(4); } },
    xAxis: { type: "value", name: "end-to-end p95 (ms)", nameLocation: "middle", nameGap: 28, scale: true },
    yAxis: { type: "value", name: "nDCG@10", scale: true },
    series: [{ type: "line", data: rows.map(function (r) { return [r.endToEndP95Ms, r.ndcg10, r.candidates]; }), symbolSize: 10,
      itemStyle: { color: function (p) { return p.data[2] === rec ? blue : (rows[p.dataIndex].fitsBudget ? "#60a5fa" : grey); } },
      lineStyle: { color: "#93c5fd" }, label: { show: true, position: "top", formatter: function (p) { return p.data[2]; } }, markLine: latencyLines }]
  });
  var lifts = data.perQuery.queries.slice().sort(function (a, b) { return b.delta - a.delta; });
  chart("chart-lift", {
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: function (ps) { var q = lifts[ps[0].dataIndex]; return "query " + q.query + "<br>first stage " + q.firstStage.toFixed(3) + " → " + q.reranked.toFixed(3) + "<br>Δ " + q.delta.toFixed(3); } },
    xAxis: { type: "category", data: lifts.map(function (q) { return q.query; }), axisLabel: { show: false }, axisTick: { show: false }, name: "queries, sorted by lift", nameLocation: "middle", nameGap: 16 },
    yAxis: { type: "value", name: "Δ nDCG@10" },
    series: [{ type: "bar", barCategoryGap: "10%", data: lifts.map(function (q) { return { value: q.delta, itemStyle: { color: q.delta > 0 ? green : q.delta < 0 ? red : grey } }; }) }]
  });
  document.body.setAttribute("data-charts-ready", "true");
})();
</script>
</body></html>
`;
}
