// Public library API. Each area exports from its own module; keep this file a list.
export * from "./core/errors.js";
export * from "./core/types.js";
export * from "./core/inputs.js";
export * from "./core/ranking.js";
export * from "./rerankers/registry.js";
export * from "./core/batch-scorer.js";
export * from "./core/score-cache.js";
// Evaluation: BEIR/TREC readers, trec_eval-exact measures, lift, tables, experiments.
export { readCorpus, readQueries, readQrels, loadBeirDataset, type Qrels, type BeirDataset } from "./eval/readers/beir.js";
export { readRun, writeRun, type WriteRunOptions } from "./eval/readers/trec.js";
export { trecOrder, type Run, type RunEntry } from "./eval/run.js";
export { parseMetric, DEFAULT_METRICS, type MetricSpec, type MetricFamily } from "./eval/metrics.js";
export { evaluateRun, type EvaluateOptions, type EvaluationResult } from "./eval/evaluate.js";
export { computeLift, type LiftOptions, type LiftReport, type MetricLift } from "./eval/lift.js";
export { formatMetricsTable, formatLiftTable, type MetricsRow, type MetricsTableOptions } from "./eval/table.js";
export { runExperiment, mergeReranked, type ExperimentOptions, type ExperimentReport, type FirstStage, type LatencySummary } from "./eval/experiment.js";
export { pairedRandomizationTest, type RandomizationTestOptions } from "./eval/significance.js";
// Rerank server: Cohere/TEI-compatible HTTP API with dynamic batching.
export { createServer, startServer, loadServerConfigFile, resolveServerConfig, DynamicBatcher, type ServerConfig, type ServerConfigInput, type ServedModelConfig, type RunningServer } from "./server/index.js";
// Hosted rerank APIs (Cohere, Jina, Voyage, Mixedbread, TEI, Infinity) and LLM rerankers over OpenAI-compatible chat.
export { ApiReranker, type ApiRerankerOptions, type ApiRerankerStats, type ApiUsage } from "./rerankers/api/api-reranker.js";
export { PROVIDERS, PROVIDER_NAMES, type ProviderName, type ProviderRow } from "./rerankers/api/providers.js";
export { LlmReranker, type LlmRerankerOptions, type LlmRerankerStats, type LlmUsage, type LlmRepairs, type LlmMode } from "./rerankers/llm/llm-reranker.js";
export { DEFAULT_TEMPLATES, type PromptTemplates, type ChatTemplate } from "./rerankers/llm/prompt-templates.js";
// BM25 first stage: Lucene/Anserini-compatible English analysis and BM25 scoring, atomic on-disk indexes.
export { Bm25Index, BM25_INDEX_FORMAT, BM25_INDEX_VERSION, DEFAULT_BM25_PARAMS, type Bm25Params, type Bm25BuildOptions, type Bm25SearchOptions } from "./retrieval/bm25/bm25-index.js";
export { EnglishAnalyzer, ENGLISH_STOP_WORDS, type EnglishAnalyzerOptions } from "./retrieval/analysis/english-analyzer.js";
export { StandardTokenizer } from "./retrieval/analysis/standard-tokenizer.js";
export { PorterStemmer } from "./retrieval/analysis/porter-stemmer.js";
// Learned reranker: LambdaMART over relevance features; shipped default model, training and CV.
export { LearnedReranker, type LearnedRerankerOptions } from "./rerankers/learned/learned-reranker.js";
export { DEFAULT_LEARNED_MODEL_PATH } from "./rerankers/learned/default-model.js";
export { loadLearnedModel, saveLearnedModel, parseLearnedModel, type LearnedModel } from "./rerankers/learned/model-file.js";
export { FeatureExtractor, BUILTIN_FEATURES, FEATURE_DESCRIPTIONS, FEATURE_SET_VERSION } from "./rerankers/learned/features.js";
export { indexCorpusView, candidateListView, type CorpusView, type Bm25FeatureIndex, type TextAnalyzer } from "./rerankers/learned/corpus-view.js";
export { trainLambdaMart, DEFAULT_LAMBDAMART_PARAMS, type LambdaMartParams, type RankingData, type LambdaMartModel } from "./rerankers/learned/lambdamart.js";
export { trainModel, crossValidate, prepareQueries, DEFAULT_FEATURES as DEFAULT_LEARNED_FEATURES, DEFAULT_BASE_MARGIN as DEFAULT_LEARNED_BASE_MARGIN, type PreparedQuery } from "./rerankers/learned/training.js";
// ONNX tooling: seeded model generator, int8 dynamic quantization, transformer graph fusion, fidelity check.
export { generateModel, ensureGeneratedModel, defaultModelCacheDir, DEFAULT_SEED as DEFAULT_MODEL_SEED, type GenerateModelOptions, type EnsureModelOptions } from "./onnx/generate.js";
export { MODEL_PRESETS, isModelPresetName, type ModelPresetName, type ModelPreset } from "./onnx/presets.js";
export { quantizeModel, quantizeFile, quantizeWeight, resolveWeightScheme, type QuantizeOptions, type QuantizeReport } from "./onnx/quantize.js";
export { probeInt8Kernels, formatInt8Probe, schemeIsExact, type Int8KernelProbe, type Int8WeightScheme } from "./onnx/int8-kernel-probe.js";
export { inspectInt8Weights, type Int8WeightsInfo } from "./onnx/int8-weights.js";
export { fuseModel, fuseFile, type FuseOptions, type FusionReport } from "./onnx/fuse.js";
export { measureFidelity, formatFidelityReport, kendallTau, type FidelityOptions, type FidelityReport } from "./onnx/fidelity.js";
// Cross-encoder reranker on ONNX Runtime; model sources (folder, hub cache, download); score cache; calibration.
export { CrossEncoderReranker, DEFAULT_BATCH_TOKENS, type CrossEncoderOptions, type ScoreKind } from "./rerankers/cross-encoder/cross-encoder-reranker.js";
export { CROSS_ENCODER_CATALOGUE, catalogueEntry, type CatalogueEntry, type Dtype } from "./rerankers/cross-encoder/catalogue.js";
export { type Int8State, type UnsafeInt8Policy } from "./rerankers/cross-encoder/int8-model.js";
export { fitPlatt, applyCalibration, loadCalibration, saveCalibration, type PlattCalibration, type PlattFit } from "./rerankers/cross-encoder/calibration.js";
export { resolveModelSource, type ModelFiles, type ModelSourceOptions, type ResolvedModel } from "./models/model-source.js";
export { huggingFaceHubCache, downloadCacheDir, lookupCacheDirs, scanHubCache, isOffline, type CachedModel } from "./models/hub-cache.js";
export { MemoryScoreCache, type MemoryScoreCacheOptions } from "./cache/memory-score-cache.js";
export { scoreCacheKeys } from "./cache/score-cache-key.js";
// Pipelines, fusion, dense retrieval, caches, sweep and compare (docs/pipelines.md)
export { createPipeline, Pipeline, type PipelineOptions, type PipelineResult, type PipelineHit, type StageSpec, type FusionSpec, type SearchRequestOptions, type StageReport } from "./pipeline/pipeline.js";
export { loadPipeline, readPipelineConfig, parsePipelineConfig, pipelineFromConfig, pipelineConfigSchema, type PipelineConfig } from "./pipeline/pipeline-config.js";
export { weightedScores, type WeightedScoring } from "./pipeline/weighted-scoring.js";
export { reciprocalRankFusion, weightedScoreFusion, type RankedList, type ScoreNormalization } from "./retrieval/fusion/fusion.js";
export { matchesMetadataFilter, validateMetadataFilter } from "./retrieval/pools/metadata-filter.js";
export { retrievePools, type Pool } from "./retrieval/pools/pools.js";
export { CachedReranker, type CachedRerankerOptions } from "./cache/cached-reranker.js";
export { RedisScoreCache, type RedisScoreCacheOptions } from "./cache/redis-score-cache.js";
export { DenseRetriever, type DenseRetrieverOptions } from "./retrieval/dense/dense-retriever.js";
export { OnnxEmbedder, type OnnxEmbedderOptions } from "./retrieval/dense/onnx-embedder.js";
export { OpenAIEmbedder, type OpenAIEmbedderOptions } from "./retrieval/dense/openai-embedder.js";
export { createEmbedder } from "./retrieval/dense/create-embedder.js";
export { openDenseRetriever } from "./retrieval/dense/open-dense-retriever.js";
export type { Embedder, EmbedderSpec } from "./retrieval/dense/embedder.js";
export { ExactVectorIndex, type VectorSearcher, type VectorHit } from "./retrieval/vector/exact-vector-index.js";
export { HnswVectorIndex, type HnswOptions } from "./retrieval/vector/hnsw-vector-index.js";
export { readVectors } from "./retrieval/vector/vector-import.js";
export { runSweep, type SweepOptions, type SweepReport, type SweepRow } from "./eval/sweep/sweep.js";
export { renderSweepReport } from "./report/sweep-report.js";
export { compareRuns, type RunComparison } from "./eval/compare/compare-runs.js";
export { pairedTTest } from "./eval/compare/paired-t-test.js";
export * from "./core/atomic-file.js";
export * from "./core/id-order.js";
