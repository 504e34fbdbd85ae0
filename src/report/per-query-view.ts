import type { PerQueryView, ViewedDocument } from "../eval/per-query-view.js";
import { escapeHtml } from "./echarts-bundle.js";

/** Styles of the per-query view, shared by the sweep report and the standalone page. */
export const PER_QUERY_STYLES = `
.pq-controls { display:flex; gap:8px; align-items:center; margin:6px 0 10px; color:var(--muted); }
.pq-controls button { border:1px solid var(--line); background:#fff; border-radius:6px; padding:4px 10px; cursor:pointer; font:inherit; }
.pq-controls button[aria-pressed=true] { background:var(--accent); color:#fff; border-color:var(--accent); }
.pq { border:1px solid var(--line); border-radius:8px; background:#fff; margin-bottom:10px; }
.pq > header { display:flex; gap:12px; align-items:baseline; padding:8px 12px; border-bottom:1px solid var(--line); }
.pq .qid { font-weight:650; } .pq .qtext { color:var(--muted); flex:1; }
.pq .delta { font-variant-numeric:tabular-nums; font-weight:650; } .pq.helped .delta { color:var(--good); } .pq.hurt .delta { color:var(--bad); } .pq.same .delta { color:var(--muted); }
.pq .lists { display:grid; grid-template-columns:minmax(0,1fr) minmax(0,1fr); }
.pq ol { margin:0; padding:6px 12px 8px 34px; } .pq ol + ol { border-left:1px solid var(--line); }
.pq li { padding:2px 0; font-size:13px; } .pq li .doc { font-family:ui-monospace,monospace; font-size:12px; }
.pq li .ex { color:var(--muted); display:block; white-space:nowrap; overflow:hidden; text-overflow:ellipsis; max-width:100%; }
.pq li.rel { background:#ecfdf3; } .pq li.rel .doc::after { content:" ✓ " attr(data-grade); color:var(--good); font-weight:700; }
.pq li.nonrel .doc::after { content:" ✗"; color:#9aa5b1; } .pq li.unjudged .doc::after { content:" ?"; color:#c0c7cf; }
.pq .side { font-size:11px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); padding:6px 12px 0; }
`;

function item(doc: ViewedDocument, relevanceLevel: number): string {
  const cls = doc.grade === null ? "unjudged" : doc.grade >= relevanceLevel ? "rel" : "nonrel";
  const grade = doc.grade === null ? "unjudged" : `grade ${doc.grade}`;
  const ex = doc.excerpt === undefined ? "" : `<span class="ex">${escapeHtml(doc.excerpt)}</span>`;
  return `<li class="${cls}" title="${escapeHtml(grade)}"><span class="doc" data-grade="${doc.grade ?? ""}">${escapeHtml(doc.id)}</span>${ex}</li>`;
}

/**
 * The per-query view as an HTML section (id "queries"): one card per judged query with
 * the first-stage and reranked top-k side by side, relevant documents marked with their
 * grade, sorted by how much reranking helped (buttons re-sort by most hurt, or by query).
 * Server-rendered, so it reads without JavaScript; the script only reorders the cards.
 */
export function renderPerQuerySection(view: PerQueryView, relevanceLevel = 1): string {
  const helped = view.queries.filter((q) => q.delta > 1e-12).length;
  const hurt = view.queries.filter((q) => q.delta < -1e-12).length;
  const cards = view.queries
    .map((q, i) => {
      const cls = q.delta > 1e-12 ? "helped" : q.delta < -1e-12 ? "hurt" : "same";
      const sign = q.delta >= 0 ? "+" : "−";
      return `<article class="pq ${cls}" data-delta="${q.delta}" data-query="${escapeHtml(q.query)}" data-order="${i}">
<header><span class="qid">${escapeHtml(q.query)}</span><span class="qtext">${escapeHtml(q.text ?? "")}</span><span>${q.before.toFixed(4)} → ${q.after.toFixed(4)}</span><span class="delta">${sign}${Math.abs(q.delta).toFixed(4)}</span></header>
<div class="lists"><div><div class="side">${escapeHtml(view.before)}</div><ol>${q.firstStage.map((d) => item(d, relevanceLevel)).join("")}</ol></div><div><div class="side">${escapeHtml(view.after)}</div><ol>${q.reranked.map((d) => item(d, relevanceLevel)).join("")}</ol></div></div>
</article>`;
    })
    .join("\n");
  return `<section id="queries" class="panel wide">
<h2>Per query: ${escapeHtml(view.before)} against ${escapeHtml(view.after)}, top ${view.k}</h2>
<div class="note">${view.queries.length} judged queries: reranking helped ${helped}, hurt ${hurt}, left ${view.queries.length - helped - hurt} unchanged on ${escapeHtml(view.metric)}. ✓ judged relevant (with its grade), ✗ judged not relevant, ? unjudged.</div>
<div class="pq-controls">sort: <button type="button" data-sort="helped" aria-pressed="true">most helped first</button><button type="button" data-sort="hurt" aria-pressed="false">most hurt first</button><button type="button" data-sort="query" aria-pressed="false">by query</button></div>
<div id="pq-list">
${cards}
</div>
</section>
<script>
(function () {
  var list = document.getElementById("pq-list");
  var buttons = document.querySelectorAll(".pq-controls button");
  function sort(kind) {
    var cards = Array.prototype.slice.call(list.children);
    cards.sort(function (a, b) {
      if (kind === "query") return a.dataset.query < b.dataset.query ? -1 : a.dataset.query > b.dataset.query ? 1 : 0;
      var d = Number(a.dataset.delta) - Number(b.dataset.delta);
      return kind === "hurt" ? d || (a.dataset.order - b.dataset.order) : -d || (a.dataset.order - b.dataset.order);
    });
    cards.forEach(function (c) { list.appendChild(c); });
    buttons.forEach(function (b) { b.setAttribute("aria-pressed", String(b.dataset.sort === kind)); });
  }
  buttons.forEach(function (b) { b.addEventListener("click", function () { sort(b.dataset.sort); }); });
})();
</script>`;
}

export interface PerQueryPageMeta {
  title?: string;
  /** Lines of context under the title (already plain text). */
  context?: string[];
  relevanceLevel?: number;
}

/** The palette, type and layout both report pages share (the sweep report and the per-query page). */
export const PAGE_STYLES = `:root { --ink:#1f2933; --muted:#66788a; --line:#e4e7eb; --accent:#2563eb; --good:#16a34a; --bad:#dc2626; --bg:#f7f8fa; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--ink); background:var(--bg); }
main { max-width:1180px; margin:0 auto; padding:28px 24px 48px; }
h1 { font-size:22px; margin:0 0 4px; } h2 { font-size:15px; margin:0 0 8px; }`;

/** A self-contained page holding only the per-query view (`winnow compare --html`). */
export function renderPerQueryPage(view: PerQueryView, meta: PerQueryPageMeta = {}): string {
  const title = meta.title ?? `Per query: ${view.before} against ${view.after}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
${PAGE_STYLES}
.context { color:var(--muted); margin-bottom:18px; } .note { color:var(--muted); font-size:12px; margin-top:4px; }
${PER_QUERY_STYLES}
</style></head>
<body><main>
<h1>${escapeHtml(title)}</h1>
<div class="context">${(meta.context ?? []).map(escapeHtml).join(" · ")}</div>
${renderPerQuerySection(view, meta.relevanceLevel)}
</main></body></html>
`;
}
