import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { rankChange } from "../eval/rank-change.js";

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The server's Prometheus metrics, on a registry of its own (not prom-client's global
 * one) so several servers in one process — tests, embedding apps — never collide.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<"route" | "status">;
  readonly queueDepth: Gauge<"model">;
  readonly inFlight: Gauge;
  readonly batchPairs: Histogram<"model">;
  readonly batchRequests: Histogram<"model">;
  readonly pairsScored: Counter<"model">;
  readonly pairsWasted: Counter<"model">;
  readonly tokens: Counter<"model">;
  readonly stageSeconds: Histogram<"model" | "stage">;
  readonly batchErrors: Counter<"model">;
  readonly cacheHits: Counter<"model">;
  readonly cacheMisses: Counter<"model">;
  readonly topOverlap: Histogram<"model">;
  readonly kendallTau: Histogram<"model">;
  readonly displacement: Histogram<"model">;

  constructor(
    queueDepthOf: () => Array<{ model: string; pairs: number }>,
    inFlightOf: () => number = () => 0,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "winnow_" });
    this.requests = new Counter({
      name: "winnow_http_requests_total",
      help: "HTTP requests by route and status code",
      labelNames: ["route", "status"],
      registers,
    });
    this.queueDepth = new Gauge({
      name: "winnow_queue_depth_pairs",
      help: "Scoring units (query-document pairs) waiting for a forward pass",
      labelNames: ["model"],
      registers,
      collect() {
        for (const q of queueDepthOf()) this.set({ model: q.model }, q.pairs);
      },
    });
    this.inFlight = new Gauge({
      name: "winnow_http_requests_in_flight",
      help: "HTTP requests received and not yet answered",
      registers,
      collect() {
        this.set(inFlightOf());
      },
    });
    this.batchPairs = new Histogram({
      name: "winnow_batch_pairs",
      help: "Pairs per forward pass",
      labelNames: ["model"],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    });
    this.batchRequests = new Histogram({
      name: "winnow_batch_requests",
      help: "Distinct requests sharing one forward pass",
      labelNames: ["model"],
      buckets: [1, 2, 4, 8, 16, 32],
      registers,
    });
    this.pairsScored = new Counter({
      name: "winnow_pairs_scored_total",
      help: "Pairs scored (rate() of this is pairs/s)",
      labelNames: ["model"],
      registers,
    });
    this.pairsWasted = new Counter({
      name: "winnow_pairs_wasted_total",
      help: "Pairs scored for requests that then failed (deadline, disconnect, shutdown): scored minus this is useful throughput",
      labelNames: ["model"],
      registers,
    });
    this.tokens = new Counter({
      name: "winnow_tokens_total",
      help: "Input tokens scored",
      labelNames: ["model"],
      registers,
    });
    this.stageSeconds = new Histogram({
      name: "winnow_stage_seconds",
      help: "Per-request latency by stage: queue, tokenize, inference, total",
      labelNames: ["model", "stage"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.batchErrors = new Counter({
      name: "winnow_batch_errors_total",
      help: "Forward passes that failed",
      labelNames: ["model"],
      registers,
    });
    this.cacheHits = new Counter({
      name: "winnow_cache_hits_total",
      help: "Documents answered from the score cache",
      labelNames: ["model"],
      registers,
    });
    this.cacheMisses = new Counter({
      name: "winnow_cache_misses_total",
      help: "Documents that missed the score cache and were scored",
      labelNames: ["model"],
      registers,
    });
    // How much reranking changes what the first stage sent (the request's document order),
    // per request: _sum/_count is the mean. A model whose overlap stays at 1 and tau near 1
    // returns the input order and costs latency for nothing.
    this.topOverlap = new Histogram({
      name: "winnow_rerank_top_overlap_ratio",
      help: "Share of the returned top n that were in the request's first n documents (1 = reranking kept the set)",
      labelNames: ["model"],
      buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.99, 1],
      registers,
    });
    this.kendallTau = new Histogram({
      name: "winnow_rerank_kendall_tau",
      help: "Kendall's tau between the returned order and the request's order of the same documents (1 kept, -1 reversed; requests with 2+ results)",
      labelNames: ["model"],
      buckets: [-0.8, -0.6, -0.4, -0.2, 0, 0.2, 0.4, 0.6, 0.8, 0.9, 0.99, 1],
      registers,
    });
    this.displacement = new Histogram({
      name: "winnow_rerank_mean_displacement",
      help: "Mean |returned rank - request rank| of the returned top n, in positions",
      labelNames: ["model"],
      buckets: [0, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500],
      registers,
    });
  }

  /** Records how far one response's order (indices into the request's documents, best first) moved from the request's. */
  observeReordering(model: string, indices: readonly number[]): void {
    if (indices.length === 0) return;
    const change = rankChange(indices);
    this.topOverlap.observe({ model }, change.topOverlap);
    if (change.kendallTau !== null) this.kendallTau.observe({ model }, change.kendallTau);
    this.displacement.observe({ model }, change.meanDisplacement);
  }
}
