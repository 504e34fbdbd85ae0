import type { LiftReport } from "./lift.js";

/** One row of a metrics table: a label (run name) and its measures. */
export interface MetricsRow {
  label: string;
  metrics: Record<string, number>;
}

export interface MetricsTableOptions {
  /** Columns, in order (default: every measure of the first row). */
  metrics?: readonly string[];
  /** Decimals (default 4, as trec_eval prints). */
  digits?: number;
  /** Heading of the label column (default "run"). */
  labelHeader?: string;
}

function formatValue(name: string, value: number | undefined, digits: number, signed: boolean): string {
  if (value === undefined || Number.isNaN(value)) return "-";
  // Counts are integers in trec_eval's output; keep them that way.
  const text = name.startsWith("num_") && Number.isInteger(value) ? String(value) : value.toFixed(digits);
  return signed && value > 0 ? `+${text}` : text;
}

function alignedTable(header: string[], body: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

/**
 * A small aligned text table, one row per run, one column per measure:
 *
 *     run          ndcg_cut_10  recall_100     map
 *     -----------  -----------  ----------  ------
 *     bm25              0.6789      0.9253  0.6401
 */
export function formatMetricsTable(rows: MetricsRow | readonly MetricsRow[], options: MetricsTableOptions = {}): string {
  const list = Array.isArray(rows) ? (rows as readonly MetricsRow[]) : [rows as MetricsRow];
  const digits = options.digits ?? 4;
  const names = options.metrics ?? Object.keys(list[0]?.metrics ?? {});
  const body = list.map((r) => [r.label, ...names.map((n) => formatValue(n, r.metrics[n], digits, r.label.startsWith("Δ")))]);
  return alignedTable([options.labelHeader ?? "run", ...names], body);
}

/** First stage vs reranked with deltas, per-query wins/ties/losses and how often the top k changed. */
export function formatLiftTable(lift: LiftReport, labels: { before?: string; after?: string } = {}, digits = 4): string {
  const names = Object.keys(lift.metrics);
  const pick = (f: (m: LiftReport["metrics"][string]) => number) => Object.fromEntries(names.map((n) => [n, f(lift.metrics[n])]));
  const table = formatMetricsTable(
    [
      { label: labels.before ?? "first stage", metrics: pick((m) => m.before) },
      { label: labels.after ?? "reranked", metrics: pick((m) => m.after) },
      { label: "Δ", metrics: pick((m) => m.delta) },
      { label: "p (paired randomization)", metrics: pick((m) => m.pValue) },
    ],
    { metrics: names, digits },
  );
  const wtl = names.map((n) => `${n} ${lift.metrics[n].wins}/${lift.metrics[n].ties}/${lift.metrics[n].losses}`).join(", ");
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  return [
    table,
    "",
    `wins/ties/losses over ${lift.numQueries} queries: ${wtl}`,
    `top-${lift.topK.k} changed: set ${pct(lift.topK.setChanged)}, order ${pct(lift.topK.orderChanged)} of ${lift.topK.queries} queries`,
  ].join("\n");
}
