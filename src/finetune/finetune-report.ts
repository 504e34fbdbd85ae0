/** The fine-tuning report: what `--format json` prints, the model card, and the HTML page with the curves. */
import { echartsBundle, escapeHtml, scriptJson } from "../report/echarts-bundle.js";
import { PAGE_STYLES } from "../report/per-query-view.js";

export interface FinetuneReport {
  out: string;
  baseModel: string;
  architecture: { modelType: string; layers: number; hidden: number; heads: number; parameters: number };
  weightsFrom: "safetensors" | "onnx";
  data: {
    dataset: string;
    labels: string;
    trainQueries: number;
    groups: number;
    groupSize: number;
    skippedPositives: number;
    negatives: string;
    validation: string | null;
    validationQueries: number;
  };
  loss: { name: string; first: number; last: number; curve: number[] };
  /** nDCG@10 over each validation query's first-stage candidates; null without validation. */
  validation: { before: number; after: number; firstStage: number; selectedStep: number; curve: Array<{ step: number; ndcg10: number }> } | null;
  steps: number;
  plannedSteps: number;
  epochs: number;
  stoppedEarly: boolean;
  resumedFrom: number | null;
  options: Record<string, unknown>;
  seconds: { prepare: number; train: number; export: number; total: number };
  stepsPerSecond: number;
  /** Optimizer steps one pass over the groups takes, and its time at the measured rate. */
  stepsPerEpoch: number;
  secondsPerEpoch: number;
  python: { interpreter: string; torch: string; threads: number };
  int8: { file: string; weights: string; reason: string } | null;
  files: string[];
}

const f4 = (x: number) => x.toFixed(4);

export function renderModelCard(r: FinetuneReport): string {
  const v = r.validation;
  return `---
library_name: winnow
base_model: ${r.baseModel}
tags: [cross-encoder, reranker, winnow-finetune]
---
# Cross-encoder fine-tuned with \`winnow finetune\`

- **Base model:** ${r.baseModel} (${r.architecture.modelType}, ${r.architecture.layers} layers, hidden ${r.architecture.hidden}, ${r.architecture.parameters.toLocaleString("en-US")} parameters; weights read from ${r.weightsFrom})
- **Data:** ${r.data.labels} over ${r.data.dataset}: ${r.data.trainQueries} training queries, ${r.data.groups} groups of 1 positive + ${r.data.groupSize - 1} negatives (${r.data.negatives})${r.data.skippedPositives ? `; ${r.data.skippedPositives} relevant labels had too few negatives and were skipped` : ""}
- **Loss:** ${r.loss.name}, first ${f4(r.loss.first)} → last ${f4(r.loss.last)}
- **Steps:** ${r.steps} of ${r.plannedSteps} planned (${r.epochs} epoch${r.epochs === 1 ? "" : "s"})${r.stoppedEarly ? ", stopped early on validation nDCG@10" : ""}${r.resumedFrom !== null ? `, resumed from step ${r.resumedFrom}` : ""}; ${r.seconds.train.toFixed(1)} s of training (${r.stepsPerSecond.toFixed(2)} steps/s, ${r.stepsPerEpoch} steps and ${r.secondsPerEpoch.toFixed(0)} s per epoch, ${r.python.threads} threads, torch ${r.python.torch})
- **Validation** (${r.data.validation ?? "none"}${v ? `, ${r.data.validationQueries} queries, nDCG@10 reranking the first stage's candidates` : ""}): ${v ? `before ${f4(v.before)} → after ${f4(v.after)} (weights of step ${v.selectedStep}; the first stage's own order: ${f4(v.firstStage)})` : "not measured"}
- **Options:** ${Object.entries(r.options).map(([k, x]) => `${k}=${JSON.stringify(x)}`).join(", ")}

Files: \`model.safetensors\` (Hugging Face names), \`config.json\` and the tokenizer of the base model, \`onnx/model.onnx\` (fp32, built by Winnow's graph builder from the trained weights)${r.int8 ? `, \`${r.int8.file}\` (int8, ${r.int8.weights} weights: ${r.int8.reason})` : ""}.

Use it: \`winnow rerank --model <this folder> …\`, \`winnow eval --reranker cross-encoder --model <this folder> …\`, \`winnow serve --model <this folder>\`.
`;
}

export function renderFinetuneHtml(r: FinetuneReport): string {
  const v = r.validation;
  const cards = [
    ["Loss", `${f4(r.loss.first)} → ${f4(r.loss.last)}`, r.loss.name],
    ["Validation nDCG@10", v ? `${f4(v.before)} → ${f4(v.after)}` : "—", v ? `first stage ${f4(v.firstStage)}, step ${v.selectedStep}` : "no validation"],
    ["Steps", `${r.steps}`, `${r.stepsPerSecond.toFixed(2)} steps/s, ${r.epochs} epoch(s)`],
    ["Training time", `${r.seconds.train.toFixed(1)} s`, `total ${r.seconds.total.toFixed(1)} s`],
  ]
    .map(([k, x, sub]) => `<div class="card"><div class="k">${escapeHtml(k)}</div><div class="v">${escapeHtml(x)}</div><div class="sub">${escapeHtml(sub)}</div></div>`)
    .join("");
  const title = `Fine-tuning ${r.baseModel}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
${PAGE_STYLES}
.context { color:var(--muted); margin-bottom:18px; }
.cards { display:grid; grid-template-columns:repeat(4,1fr); gap:12px; margin-bottom:18px; }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
.card .k { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.card .v { font-size:22px; font-weight:650; margin:2px 0; } .card .sub { color:var(--muted); font-size:12px; }
.grid { display:grid; grid-template-columns:1fr 1fr; gap:12px; }
.panel { background:#fff; border:1px solid var(--line); border-radius:8px; padding:14px; margin-bottom:12px; }
.chart { width:100%; height:320px; } .note { color:var(--muted); font-size:12px; margin-top:4px; }
@media (max-width: 900px) { .grid { grid-template-columns:1fr; } .cards { grid-template-columns:1fr 1fr; } }
</style></head>
<body><main>
<h1>${escapeHtml(title)}</h1>
<div class="context">labels <b>${escapeHtml(r.data.labels)}</b> · ${r.data.groups} groups from ${r.data.trainQueries} queries · validation <b>${escapeHtml(r.data.validation ?? "none")}</b> · out <b>${escapeHtml(r.out)}</b></div>
<div class="cards">${cards}</div>
<div class="grid">
<div class="panel"><h2>Training loss</h2><div id="chart-loss" class="chart"></div><div class="note">Per optimizer step, and its 20-step moving average.</div></div>
<div class="panel"><h2>Validation nDCG@10</h2><div id="chart-validation" class="chart"></div><div class="note">Reranking each validation query's first-stage candidates; the dashed line is the first stage's own order.</div></div>
</div>
</main>
<script>${echartsBundle()}</script>
<script>
const data = ${scriptJson({ loss: r.loss.curve, validation: v?.curve ?? [], firstStage: v?.firstStage ?? null })};
const avg = data.loss.map((_, i) => { const s = data.loss.slice(Math.max(0, i - 19), i + 1); return s.reduce((a, b) => a + b, 0) / s.length; });
echarts.init(document.getElementById("chart-loss")).setOption({
  tooltip: { trigger: "axis" }, legend: { data: ["loss", "moving average"] },
  xAxis: { type: "value", name: "step", min: 1 }, yAxis: { type: "value", scale: true },
  series: [
    { name: "loss", type: "line", showSymbol: false, lineStyle: { width: 1, opacity: 0.4 }, data: data.loss.map((y, i) => [i + 1, y]) },
    { name: "moving average", type: "line", showSymbol: false, lineStyle: { width: 2 }, data: avg.map((y, i) => [i + 1, y]) },
  ],
});
echarts.init(document.getElementById("chart-validation")).setOption({
  tooltip: { trigger: "axis" }, xAxis: { type: "value", name: "step" }, yAxis: { type: "value", scale: true },
  series: [{ name: "nDCG@10", type: "line", data: data.validation.map((p) => [p.step, p.ndcg10]),
    markLine: data.firstStage === null ? undefined : { symbol: "none", lineStyle: { type: "dashed" }, label: { formatter: "first stage" }, data: [{ yAxis: data.firstStage }] } }],
});
</script>
</body></html>
`;
}
