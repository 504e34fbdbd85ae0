import type { SweepReport } from "../eval/sweep/sweep.js";
import { echartsBundle, escapeHtml, scriptJson } from "./echarts-bundle.js";
import { PAGE_STYLES, PER_QUERY_STYLES, renderPerQuerySection } from "./per-query-view.js";

export interface SweepReportMeta {
  title?: string;
  dataset?: string;
  split?: string;
  firstStage?: string;
  /** When the sweep ran (ISO string); default now. */
  generatedAt?: string;
}

const fmt = (x: number | undefined, d = 4) => (x !== undefined && Number.isFinite(x) ? x.toFixed(d) : "–");
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const pv = (x: number) => (x < 0.0001 ? x.toExponential(1) : x.toFixed(4));
const signed = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(4)}`;

function isRecommended(report: SweepReport, r: { reranker: string; candidates: number }): boolean {
  return report.recommendation.reranker === r.reranker && report.recommendation.candidates === r.candidates;
}

function table(report: SweepReport): string {
  const m = report.metric;
  const best = Math.max(...report.rows.map((r) => r.metrics[m]));
  const extra = m === "ndcg_cut_10" ? "" : `<th>nDCG@10</th>`;
  const first = report.firstStage;
  const dontRerank = report.recommendation.reranker === null;
  const firstRow = `<tr class="first${dontRerank ? " rec" : ""}"><td>first stage alone</td><td class="num">0${dontRerank ? ' <span class="pill">recommended</span>' : ""}</td>
<td class="num">${fmt(first.metrics[m])}</td><td class="num">–</td><td class="num">–</td>${m === "ndcg_cut_10" ? "" : `<td class="num">${fmt(first.metrics.ndcg_cut_10)}</td>`}
<td class="num">${fmt(first.metrics.recip_rank)}</td><td class="num">${fmt(first.metrics.recall_10)}</td><td class="num">–</td>
<td class="num">${ms(first.p50Ms)}</td><td class="num">${ms(first.p95Ms)}${first.fitsBudget ? "" : " ⚠"}</td></tr>`;
  const rows = report.rows
    .map((r) => {
      const rec = isRecommended(report, r);
      // The test the recommendation applies: corrected for the rows compared.
      const significant = (r.pValueAdjusted ?? r.pValue) < report.alpha;
      const cls = [rec ? "rec" : "", r.fitsBudget ? "" : "over"].filter(Boolean).join(" ");
      return `<tr class="${cls}"><td>${escapeHtml(r.reranker)}</td><td class="num">${r.candidates}${rec ? ' <span class="pill">recommended</span>' : ""}</td>
<td class="num${r.metrics[m] === best ? " best" : ""}">${fmt(r.metrics[m])}</td><td class="num ${r.delta > 0 ? "up" : r.delta < 0 ? "down" : ""}">${signed(r.delta)}</td><td class="num${significant ? " sig" : ""}">${pv(r.pValue)}</td>
${m === "ndcg_cut_10" ? "" : `<td class="num">${fmt(r.metrics.ndcg_cut_10)}</td>`}<td class="num">${fmt(r.metrics.recip_rank)}</td><td class="num">${fmt(r.metrics.recall_10)}</td><td class="num">${fmt(r.metrics[`recall_${r.candidates}`])}</td>
<td class="num">${ms(r.p50Ms)}</td><td class="num">${ms(r.p95Ms)}${r.fitsBudget ? "" : " ⚠"}</td></tr>`;
    })
    .join("\n");
  return `<table><thead><tr><th>Reranker</th><th>Candidates</th><th>${escapeHtml(m)}</th><th>Δ vs first stage</th><th>p (paired randomization)</th>${extra}<th>MRR</th><th>recall@10</th><th>Recall ceiling (first-stage recall@k)</th><th>p50 ms</th><th>p95 ms</th></tr></thead>
<tbody>${firstRow}
${rows}</tbody></table>
<div class="note">Latencies are end-to-end per query (first stage + rerank). A p-value in bold is below α = ${report.alpha}.</div>`;
}

/**
 * A self-contained HTML page for a sweep: the recommendation (which may be not to
 * rerank), the table with each row's p-value against the first stage, three charts
 * (quality vs candidates with one curve per reranker and the recall ceiling, quality vs
 * p95 latency, per-query lift) and the per-query view (#queries) that shows why. ECharts
 * is inlined, so the file works offline.
 */
export function renderSweepReport(report: SweepReport, meta: SweepReportMeta = {}): string {
  const names = report.rerankers.join(", ");
  const title = meta.title ?? `Candidate sweep: ${names}${meta.dataset ? ` on ${meta.dataset}` : ""}`;
  const view = report.perQuery;
  const wins = view.queries.filter((q) => q.delta > 1e-12).length;
  const losses = view.queries.filter((q) => q.delta < -1e-12).length;
  const ties = view.queries.length - wins - losses;
  const rec = report.recommendation;
  const m = report.metric;
  const recRow = report.rows.find((r) => isRecommended(report, r));
  const cards = [
    ["Recommendation", rec.reranker === null ? "don't rerank" : `${rec.reranker} @ ${rec.candidates}`, rec.reranker === null ? "the first stage alone" : `${rec.candidates} candidates`],
    [`${m} at recommendation`, fmt(rec.metrics[m]), `first stage ${fmt(report.firstStage.metrics[m])}`],
    ["End-to-end p95", `${ms(recRow ? recRow.p95Ms : report.firstStage.p95Ms)} ms`, report.budgetMs !== undefined ? `budget ${report.budgetMs} ms` : "no budget set"],
    ["Per-query lift", `${wins} ▲  ${losses} ▼`, `${ties} unchanged, ${view.reranker} @ ${view.candidates}`],
  ]
    .map(([k, v, sub]) => `<div class="card"><div class="k">${escapeHtml(k)}</div><div class="v">${escapeHtml(v)}</div><div class="sub">${escapeHtml(sub)}</div></div>`)
    .join("");
  const context = [
    meta.dataset ? `dataset <b>${escapeHtml(meta.dataset)}</b>${meta.split ? ` (${escapeHtml(meta.split)})` : ""}` : "",
    `first stage <b>${escapeHtml(meta.firstStage ?? "BM25")}</b>`,
    `${report.rerankers.length === 1 ? "reranker" : "rerankers"} <b>${escapeHtml(names)}</b>`,
    `${report.numQueries} judged queries`,
    `metric <b>${escapeHtml(m)}</b>, α = ${report.alpha}`,
    `generated ${escapeHtml(meta.generatedAt ?? new Date().toISOString())}`,
  ]
    .filter(Boolean)
    .join(" · ");
  const headline = rec.reranker === null ? "<b>Don't rerank.</b>" : `<b>Use ${escapeHtml(rec.reranker)} on ${rec.candidates} candidates.</b>`;
  // The charts need the rows and the per-query deltas only; the lists are in the HTML.
  const chartData = { ...report, perQuery: { reranker: view.reranker, candidates: view.candidates, lifts: view.queries.map((q) => ({ query: q.query, before: q.before, after: q.after, delta: q.delta })) } };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
${PAGE_STYLES}
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
td.up { color:var(--good); } td.down { color:var(--bad); } td.sig { font-weight:700; } tr.first td { color:var(--muted); } tr.first.rec td { color:var(--ink); }
${PER_QUERY_STYLES}
@media (max-width: 900px) { .grid { grid-template-columns:1fr; } .cards { grid-template-columns:1fr 1fr; } }
</style></head>
<body><main>
<h1>${escapeHtml(title)}</h1>
<div class="context">${context}</div>
<div class="reason">${headline} ${escapeHtml(rec.reason.replace(/^don't rerank: /, ""))}. <a href="#queries">See each query →</a></div>
<div class="cards">${cards}</div>
<div class="grid">
<div class="panel"><h2>Quality vs candidates</h2><div id="chart-quality" class="chart"></div><div class="note">One curve per reranker. The recall ceiling is the share of relevant documents the first stage puts in the top k: no reranker can find what is not there.</div></div>
<div class="panel"><h2>Quality vs p95 latency</h2><div id="chart-latency" class="chart"></div><div class="note">End-to-end p95 (first stage + rerank) per query; labels are candidate counts; the diamond is the first stage alone.</div></div>
<div class="panel wide"><h2>Per-query lift (${escapeHtml(m)}, ${escapeHtml(view.reranker)} @ ${view.candidates} vs first stage)</h2><div id="chart-lift" class="chart"></div><div class="note"><a href="#queries">Both top-10 lists of every query, with judged relevance</a>.</div></div>
<div class="panel wide"><h2>All settings</h2>${table(report)}</div>
${renderPerQuerySection(view)}
</div>
</main>
<script>${echartsBundle()}</script>
<script id="sweep-data" type="application/json">${scriptJson(chartData)}</script>
<script>
(function () {
  var data = JSON.parse(document.getElementById("sweep-data").textContent);
  var metric = data.metric, rows = data.rows, rec = data.recommendation;
  var palette = ["#2563eb", "#9333ea", "#0891b2", "#ea580c", "#be185d", "#4d7c0f"];
  var green = "#16a34a", red = "#dc2626", grey = "#9aa5b1", amber = "#d97706";
  var base = { animation: false, textStyle: { fontFamily: "system-ui, sans-serif" }, grid: { left: 56, right: 24, top: 40, bottom: 48 } };
  function chart(id, option) {
    var c = echarts.init(document.getElementById(id), null, { renderer: "canvas" });
    c.setOption(Object.assign({}, base, option));
    window.addEventListener("resize", function () { c.resize(); });
    return c;
  }
  var counts = [];
  rows.forEach(function (r) { if (counts.indexOf(r.candidates) < 0) counts.push(r.candidates); });
  counts.sort(function (a, b) { return a - b; });
  var xs = counts.map(String);
  function rowOf(name, c) { return rows.filter(function (r) { return r.reranker === name && r.candidates === c; })[0]; }
  var first = data.firstStage.metrics[metric];
  var ceiling = counts.map(function (c) { var r = rows.filter(function (x) { return x.candidates === c; })[0]; return r.metrics["recall_" + c]; });
  var quality = [{ name: "Recall ceiling", type: "line", data: ceiling, lineStyle: { type: "dashed", color: grey }, itemStyle: { color: grey }, areaStyle: { color: "rgba(154,165,177,0.12)" } }];
  data.rerankers.forEach(function (name, i) {
    var s = { name: name, type: "line", data: counts.map(function (c) { var r = rowOf(name, c); return r ? r.metrics[metric] : null; }), itemStyle: { color: palette[i % palette.length] }, lineStyle: { width: 3 }, symbolSize: 8 };
    if (rec.reranker === name) s.markPoint = { symbol: "pin", symbolSize: 46, itemStyle: { color: palette[i % palette.length] }, data: [{ name: "recommended", coord: [String(rec.candidates), rec.metrics[metric]], value: "★" }] };
    if (i === 0) s.markLine = { symbol: "none", label: { formatter: "first stage {c}", position: "insideStartBottom" }, lineStyle: { color: amber, type: "dotted", width: rec.reranker === null ? 3 : 1 }, data: [{ yAxis: Number(first.toFixed(4)) }] };
    quality.push(s);
  });
  chart("chart-quality", {
    tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "–" : v.toFixed(4); } },
    legend: { top: 4 },
    xAxis: { type: "category", data: xs, name: "candidates reranked", nameLocation: "middle", nameGap: 28 },
    // Start the axis just below the lowest curve so gaps of a few points stay visible.
    yAxis: { type: "value", min: function (v) { return Math.max(0, Math.floor((v.min - 0.05) * 10) / 10); }, max: 1, name: metric },
    series: quality
  });
  var latencyLines = data.budgetMs == null ? undefined : { symbol: "none", lineStyle: { color: red, type: "dashed" }, label: { formatter: "budget " + data.budgetMs + " ms" }, data: [{ xAxis: data.budgetMs }] };
  var latency = data.rerankers.map(function (name, i) {
    return { name: name, type: "line", data: counts.map(function (c) { var r = rowOf(name, c); return r ? [r.p95Ms, r.metrics[metric], c] : null; }).filter(Boolean), symbolSize: 10,
      itemStyle: { color: palette[i % palette.length] }, label: { show: true, position: "top", formatter: function (p) { return p.data[2]; } }, markLine: i === 0 ? latencyLines : undefined };
  });
  latency.push({ name: "first stage", type: "scatter", symbol: "diamond", symbolSize: 14, itemStyle: { color: amber }, data: [[data.firstStage.p95Ms, first, 0]] });
  chart("chart-latency", {
    legend: { top: 4 },
    tooltip: { trigger: "item", formatter: function (p) { return p.seriesName + (p.data[2] ? " @ " + p.data[2] : "") + "<br>p95 " + p.data[0].toFixed(1) + " ms<br>" + metric + " " + p.data[1].toFixed(4); } },
    xAxis: { type: "value", name: "end-to-end p95 (ms)", nameLocation: "middle", nameGap: 28, scale: true },
    yAxis: { type: "value", name: metric, scale: true },
    series: latency
  });
  var lifts = data.perQuery.lifts.slice().sort(function (a, b) { return b.delta - a.delta; });
  chart("chart-lift", {
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: function (ps) { var q = lifts[ps[0].dataIndex]; return "query " + q.query + "<br>first stage " + q.before.toFixed(3) + " → " + q.after.toFixed(3) + "<br>Δ " + q.delta.toFixed(3); } },
    xAxis: { type: "category", data: lifts.map(function (q) { return q.query; }), axisLabel: { show: false }, axisTick: { show: false }, name: "queries, sorted by lift", nameLocation: "middle", nameGap: 16 },
    yAxis: { type: "value", name: "Δ " + metric },
    series: [{ type: "bar", barCategoryGap: "10%", data: lifts.map(function (q) { return { value: q.delta, itemStyle: { color: q.delta > 0 ? green : q.delta < 0 ? red : grey } }; }) }]
  });
  document.body.setAttribute("data-charts-ready", "true");
})();
</script>
</body></html>
`;
}
