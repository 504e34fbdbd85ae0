import { InvalidInputError } from "../../core/errors.js";
import { RerankerBase, type ScoringCall, type ScoringOutcome } from "../../core/reranker-base.js";
import { candidateListView, indexCorpusView, type Bm25FeatureIndex, type CorpusView, type TextAnalyzer } from "./corpus-view.js";
import { Bm25Index } from "../../retrieval/bm25/bm25-index.js";
import { Rm3Retriever } from "../../retrieval/bm25/rm3.js";
import { FeatureExtractor, RM3_SCORE_KEY, type ExpansionTerm, type ExtractionContext } from "./features.js";
import { loadLearnedModel, type LearnedModel } from "./model-file.js";
import { predictTree } from "./regression-tree.js";
import "./learned-call-options.js";

export type { LearnedCallOptions } from "./learned-call-options.js";

export interface LearnedRerankerOptions {
  /**
   * The BM25 index the candidates came from: corpus IDFs and average lengths, and stored
   * term ids for candidates found in it. Without one, statistics are computed from the
   * candidate list itself (see candidateListView).
   */
  index?: Bm25FeatureIndex;
  /** Analyzer for queries and for texts not in the index (default: the index's, else Winnow's English analyzer). */
  analyzer?: TextAnalyzer;
  /** Shown as the reranker's name (default "learned"). */
  name?: string;
}

/**
 * Reranks with a LambdaMART model over relevance features (BM25 per field, coverage,
 * proximity, phrase matches, earlier stages' scores…). Pure JS, a few milliseconds for
 * 100 candidates: Winnow's offline default reranker.
 */
export class LearnedReranker extends RerankerBase {
  readonly name: string;
  readonly scoring = "pointwise";
  readonly model: LearnedModel;
  private readonly extractor: FeatureExtractor;
  private readonly indexView?: CorpusView;
  private readonly analyzer?: TextAnalyzer;
  private readonly baseColumn: number;
  /** Expands queries with RM3 over the index (Anserini's defaults) when the model reads rm3_ratio_max. */
  private readonly rm3?: Rm3Retriever;

  constructor(model: LearnedModel, options: LearnedRerankerOptions = {}) {
    super();
    this.model = model;
    this.name = options.name ?? "learned";
    this.extractor = new FeatureExtractor(model.features);
    this.indexView = options.index ? indexCorpusView(options.index) : undefined;
    this.analyzer = options.analyzer ?? options.index?.analyzer;
    this.baseColumn = model.baseMargin ? model.features.indexOf(model.baseMargin.feature) : -1;
    if (this.extractor.readsRm3 && options.index instanceof Bm25Index) this.rm3 = new Rm3Retriever(options.index);
  }

  /**
   * What rm3_ratio_max needs for this query: nothing when every candidate carries the RM3
   * first stage's score, else the RM3 expansion (one BM25 search for the feedback documents).
   */
  async extractionContext(queryText: string, candidates: Parameters<FeatureExtractor["extract"]>[2]): Promise<ExtractionContext> {
    if (!this.rm3 || (!this.extractor.readsRm3Model && candidates.every((c) => typeof c.scores?.[RM3_SCORE_KEY] === "number"))) return {};
    const rm3Terms: ExpansionTerm[] = await this.rm3.expand({ text: queryText });
    return { rm3Terms };
  }

  static async load(path: string, options: LearnedRerankerOptions = {}): Promise<LearnedReranker> {
    return new LearnedReranker(await loadLearnedModel(path), options);
  }

  /** Feature matrix (row-major, model.features order) and scores, for training tools and reports. */
  scoreCandidates(queryText: string, candidates: Parameters<FeatureExtractor["extract"]>[2], view?: CorpusView, context: ExtractionContext = {}): { features: Float64Array; scores: Float64Array } {
    const v = view ?? this.viewFor(candidates);
    const matched = new Int32Array(candidates.length);
    const features = this.extractor.extract(v, queryText, candidates, matched, context);
    const scores = scoreRows(this.model, features, this.baseColumn);
    // A document sharing no term with the query never occurs in training (a lexical first
    // stage cannot return it), so the trees' output for it is an extrapolation: rank such
    // documents after every matching one, in their input order.
    let lowest = Infinity;
    for (let i = 0; i < scores.length; i++) if (matched[i] > 0 && scores[i] < lowest) lowest = scores[i];
    const floor = (Number.isFinite(lowest) ? lowest : 0) - 1;
    for (let i = 0; i < scores.length; i++) if (matched[i] === 0) scores[i] = floor;
    return { features, scores };
  }

  // No cacheIdentity: a score is not a function of (query, document) alone. It reads the
  // candidate's first-stage rank and score; without an index the corpus statistics come
  // from the candidate list; and documents that match no query term are placed just below
  // the list's lowest match. The same pair scores differently in another list, so a cached
  // score could be served into the wrong one.

  protected override checkCall(call: ScoringCall): void {
    const o: unknown = call.options.family?.learned;
    if (o === undefined) return;
    if (o === null || typeof o !== "object") throw new InvalidInputError("family.learned must be an object", { field: "family.learned" });
    for (const [k, v] of Object.entries(o)) {
      if (k !== "explain") throw new InvalidInputError(`family.learned.${k}: unknown option (known: explain)`, { field: `family.learned.${k}` });
      if (typeof v !== "boolean") throw new InvalidInputError("family.learned.explain must be a boolean", { field: "family.learned.explain" });
    }
  }

  protected async score(call: ScoringCall): Promise<ScoringOutcome> {
    const context = await this.extractionContext(call.query.text, call.candidates);
    const { features, scores } = this.scoreCandidates(call.query.text, call.candidates, undefined, context);
    const F = this.model.features.length;
    const withFeatures = call.options.family?.learned?.explain === true;
    return { scores, details: withFeatures ? (i) => ({ features: Object.fromEntries(this.model.features.map((n, f) => [n, features[i * F + f]])) }) : undefined };
  }

  private viewFor(candidates: Parameters<FeatureExtractor["extract"]>[2]): CorpusView {
    if (this.indexView) return this.indexView;
    if (!this.analyzer) {
      throw new InvalidInputError("learned reranker needs an index or an analyzer", { field: "analyzer" });
    }
    return candidateListView(this.analyzer, candidates);
  }
}

/** base margin + Σ trees for each row of a feature matrix. */
export function scoreRows(model: LearnedModel, features: Float64Array, baseColumn = model.baseMargin ? model.features.indexOf(model.baseMargin.feature) : -1): Float64Array {
  const F = model.features.length;
  const n = features.length / F;
  const scores = new Float64Array(n);
  const scale = model.baseMargin?.scale ?? 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    if (baseColumn >= 0) {
      const b = features[i * F + baseColumn];
      if (Number.isFinite(b)) s = scale * b;
    }
    for (const t of model.trees) s += predictTree(t, features, i * F);
    scores[i] = s;
  }
  return scores;
}
