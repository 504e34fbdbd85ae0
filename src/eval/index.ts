// The `winnow/eval` entry (docs/evaluation.md): BEIR and TREC readers, trec_eval-exact
// measures, reranker lift with significance tests, experiments, the candidate-count sweep
// and its HTML report, and run comparison. Corpora for indexing come from `winnow` (readCorpus).
export { readQueries, readQrels, loadBeirDataset, type Qrels, type BeirDataset } from "./readers/beir.js";
export { readRun, writeRun, type WriteRunOptions } from "./readers/trec.js";
export { trecOrder, type Run, type RunEntry } from "./run.js";
export { parseMetric, DEFAULT_METRICS, type MetricSpec, type MetricFamily } from "./metrics.js";
export { evaluateRun, type EvaluateOptions, type EvaluationResult } from "./evaluate.js";
export { computeLift, type LiftOptions, type LiftReport, type MetricLift } from "./lift.js";
export { formatMetricsTable, formatLiftTable, type MetricsRow, type MetricsTableOptions } from "./table.js";
export { runExperiment, type ExperimentOptions, type ExperimentReport, type FirstStage, type LatencySummary } from "./experiment.js";
export { pairedRandomizationTest, type RandomizationTestOptions } from "./significance.js";
export { runSweep, recommend, holmAdjusted, RECALL_RULE_OF_THUMB, type SweepOptions, type SweepReport, type SweepRow, type SweepRecommendation, type RecommendOptions, type RecommendableRow } from "./sweep/sweep.js";
export { renderSweepReport } from "../report/sweep-report.js";
export { perQueryView, type PerQueryView, type PerQueryViewOptions, type QueryView, type ViewedDocument } from "./per-query-view.js";
export { renderPerQueryPage } from "../report/per-query-view.js";
export { rankChange, type RankChange } from "./rank-change.js";
export { readRequestLog, requestLogRuns, requestLogCandidates, type LoggedRequest } from "./readers/request-log.js";
export { compareRuns, type CompareOptions, type RunComparison } from "./compare/compare-runs.js";
export { pairedTTest, type TTestResult } from "./compare/paired-t-test.js";
