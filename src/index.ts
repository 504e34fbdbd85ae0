// The `winnow` entry: rerankers, first-stage retrieval, pipelines and the core types and
// errors they share (docs/api.md). The server, evaluation and ONNX tooling have entries of
// their own (winnow/server, winnow/eval, winnow/onnx), so importing this one loads neither
// Fastify, ONNX Runtime nor the report bundle (test/entry-points.test.ts checks it).
// Keep this file a list of what users need; internals stay unexported.

// Core: the Reranker interface and its shapes, typed errors, input helpers for writing a reranker.
export type * from "./core/types.js";
export { WinnowError, InvalidInputError, isWinnowError, throwIfAborted, type ErrorCode, type WinnowErrorOptions } from "./core/errors.js";
export { toQuery, toCandidates, documentText } from "./core/inputs.js";
export { rankByScores } from "./core/ranking.js";
export type { ScoreCache, ScoreCacheStats } from "./core/score-cache.js";
export type { BatchScorer, BatchableReranker, PrepareOptions, PreparedRequest, ScoringUnit, TruncationDirection } from "./core/batch-scorer.js";
export {
  RerankerBase,
  type InstructionSupport,
  type RerankerBaseOptions,
  type RerankerEvents,
  type ScoringCall,
  type ScoringKind,
  type ScoringOutcome,
} from "./core/reranker-base.js";
export { AdaptedReranker, adaptReranker, type AdaptedRerankerOptions } from "./core/adapted-reranker.js";

// The reranker registry: families by name (the specs the CLI, server and pipelines use).
export {
  createReranker,
  registerReranker,
  rerankerTypes,
  type CorpusIndex,
  type RerankerContext,
  type RerankerFactory,
  type RerankerLogger,
  type RerankerSpec,
  type RerankerTraits,
  type RequiredField,
  type StoredVectors,
} from "./rerankers/registry.js";

// Cross-encoders on ONNX Runtime (loaded on first use), model sources and the hub cache, calibration.
export { CrossEncoderReranker, DEFAULT_BATCH_TOKENS, type CrossEncoderCallOptions, type CrossEncoderOptions, type ScoreKind } from "./rerankers/cross-encoder/cross-encoder-reranker.js";
export { DecoderReranker, DEFAULT_DECODER_BATCH_TOKENS, type DecoderRerankerOptions } from "./rerankers/decoder/decoder-reranker.js";
export { DECODER_TEMPLATES, QWEN3_RERANKER_TEMPLATE, MXBAI_RERANK_V2_TEMPLATE, renderPrompt, type DecoderTemplate } from "./rerankers/decoder/decoder-template.js";
export { EXECUTION_PROVIDERS, type ExecutionProvider } from "./rerankers/cross-encoder/execution-providers.js";
export { CROSS_ENCODER_CATALOGUE, catalogueEntry, type CatalogueEntry, type Dtype } from "./rerankers/cross-encoder/catalogue.js";
export type { Int8State, UnsafeInt8Policy } from "./rerankers/cross-encoder/int8-model.js";
export { fitPlatt, applyCalibration, loadCalibration, saveCalibration, type PlattCalibration, type PlattFit } from "./rerankers/cross-encoder/calibration.js";
export { resolveModelSource, type ModelFiles, type ModelSourceOptions, type ResolvedModel } from "./models/model-source.js";
export { huggingFaceHubCache, scanHubCache, isOffline, type CachedModel } from "./models/hub-cache.js";

// Hosted rerank APIs (Cohere, Jina, Voyage, Mixedbread, TEI, Infinity) and LLM rerankers over OpenAI-compatible chat.
export { ApiReranker, type ApiRerankerOptions, type ApiRerankerStats, type ApiUsage } from "./rerankers/api/api-reranker.js";
export { PROVIDERS, PROVIDER_NAMES, type ProviderName, type ProviderRow } from "./rerankers/api/providers.js";
export { LlmReranker, type LlmRerankerOptions, type LlmRerankerStats, type LlmUsage, type LlmRepairs, type LlmMode } from "./rerankers/llm/llm-reranker.js";
export { DEFAULT_TEMPLATES, type PromptTemplates, type ChatTemplate } from "./rerankers/llm/prompt-templates.js";

// The learned reranker: LambdaMART over relevance features; the shipped model, training and cross-validation.
export { LearnedReranker, type LearnedCallOptions, type LearnedRerankerOptions } from "./rerankers/learned/learned-reranker.js";
export { DEFAULT_LEARNED_MODEL_PATH } from "./rerankers/learned/default-model.js";
export { ColbertReranker, type ColbertOptions, type StoredTokenVectors } from "./rerankers/colbert/colbert-reranker.js";
export { ColbertEncoder, type ColbertModelOptions } from "./rerankers/colbert/colbert-encoder.js";
export { maxSim } from "./rerankers/colbert/maxsim.js";
export type { TokenMatrix } from "./rerankers/colbert/token-matrix.js";
export { COLBERT_CATALOGUE, colbertCatalogueEntry, type ColbertCatalogueEntry } from "./rerankers/colbert/catalogue.js";
export { readColbertSettings, type ColbertSettings } from "./rerankers/colbert/colbert-settings.js";
export { TokenStore, TokenStoreWriter, type StoreCompression, type StoreManifest } from "./retrieval/colbert/token-store.js";
export { buildTokenStore, type BuildTokenStoreOptions, type CompressionName } from "./retrieval/colbert/build-token-store.js";
export { ColbertRetriever, type ColbertRetrieverOptions } from "./retrieval/colbert/colbert-retriever.js";
export { poolTokens } from "./retrieval/colbert/token-pooling.js";
export { measureStoreFidelity, type StoreFidelity } from "./retrieval/colbert/store-fidelity.js";
export { loadLearnedModel, saveLearnedModel, parseLearnedModel, type LearnedModel } from "./rerankers/learned/model-file.js";
export { BUILTIN_FEATURES, FEATURE_DESCRIPTIONS } from "./rerankers/learned/features.js";
export { trainLambdaMart, DEFAULT_LAMBDAMART_PARAMS, type LambdaMartParams, type RankingData, type LambdaMartModel } from "./rerankers/learned/lambdamart.js";
export { trainModel, crossValidate, prepareQueries, DEFAULT_FEATURES as DEFAULT_LEARNED_FEATURES, type PreparedQuery } from "./rerankers/learned/training.js";

// First stages: the retriever registry, BM25 (Lucene/Anserini-exact), dense (exact or HNSW), fusion, pools and filters.
export {
  createRetriever,
  registerRetriever,
  retrieverTypes,
  type FirstStageRetriever,
  type RetrieverContext,
  type RetrieverFactory,
  type RetrieverSpec,
} from "./retrieval/registry.js";
export { readCorpus } from "./eval/readers/beir.js";
export {
  Bm25Index,
  BM25_INDEX_FORMAT,
  BM25_INDEX_VERSION,
  type Bm25Params,
  type Bm25BuildOptions,
  type Bm25SearchOptions,
  type Bm25SaveOptions,
  type CorpusInput,
  type IndexWriteOptions,
  type IndexWriteSummary,
  type IndexProgress,
} from "./retrieval/bm25/bm25-index.js";
export { DEFAULT_MERGE_POLICY, planMerges, type MergePolicy } from "./retrieval/bm25/merge-policy.js";
export { Rm3Retriever, DEFAULT_RM3_PARAMS, type Rm3Params, type Rm3SearchOptions } from "./retrieval/bm25/rm3.js";
export type { Bm25RetrieverSpec, Bm25Rm3RetrieverSpec, DenseRetrieverSpec, HybridRetrieverSpec, MemoryRetrieverSpec } from "./retrieval/retriever-schemas.js";
export { EnglishAnalyzer, ENGLISH_STOP_WORDS, type EnglishAnalyzerOptions } from "./retrieval/analysis/english-analyzer.js";
export { StandardTokenizer } from "./retrieval/analysis/standard-tokenizer.js";
export { PorterStemmer } from "./retrieval/analysis/porter-stemmer.js";
export { DenseRetriever, type DenseRetrieverOptions } from "./retrieval/dense/dense-retriever.js";
export { OnnxEmbedder, type OnnxEmbedderOptions } from "./retrieval/dense/onnx-embedder.js";
export { OpenAIEmbedder, type OpenAIEmbedderOptions } from "./retrieval/dense/openai-embedder.js";
export { createEmbedder } from "./retrieval/dense/create-embedder.js";
export { openDenseRetriever } from "./retrieval/dense/open-dense-retriever.js";
export type { Embedder, EmbedderSpec } from "./retrieval/dense/embedder.js";
export { ExactVectorIndex, type VectorSearcher, type VectorHit } from "./retrieval/vector/exact-vector-index.js";
export { HnswVectorIndex, type HnswOptions } from "./retrieval/vector/hnsw-vector-index.js";
export { readVectors } from "./retrieval/vector/vector-import.js";
export { reciprocalRankFusion, weightedScoreFusion, type FusionInput, type RankedList, type ScoreNormalization } from "./retrieval/fusion/fusion.js";
export { matchesMetadataFilter, validateMetadataFilter } from "./retrieval/pools/metadata-filter.js";
export { retrievePools, type Pool } from "./retrieval/pools/pools.js";

// Pipelines (docs/pipelines.md): pools → fusion → a cascade of stages within a budget; score caches.
export { createPipeline, Pipeline, type PipelineOptions, type PipelineResult, type PipelineHit, type StageSpec, type FusionSpec, type SearchRequestOptions, type StageReport } from "./pipeline/pipeline.js";
export { loadPipeline, readPipelineConfig, parsePipelineConfig, pipelineFromConfig, pipelineConfigSchema, type PipelineConfig, type PipelineConfigContext } from "./pipeline/pipeline-config.js";
export { weightedScores, type WeightedScoring } from "./pipeline/weighted-scoring.js";
export { CachedReranker, type CachedRerankerOptions } from "./cache/cached-reranker.js";
export { MemoryScoreCache, type MemoryScoreCacheOptions } from "./cache/memory-score-cache.js";
export { RedisScoreCache, type RedisScoreCacheOptions } from "./cache/redis-score-cache.js";

// Fine-tuning (docs/finetune.md): labels → your own cross-encoder, trained on PyTorch, exported to ONNX.
export { finetuneCrossEncoder, type FinetuneCrossEncoderOptions, type FinetuneProgress, type FinetuneReport } from "./finetune/finetune-entry.js";
