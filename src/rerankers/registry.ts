import { WinnowError } from "../core/errors.js";
import type { RerankerContext, RerankerFactory, RerankerSpec } from "../core/reranker-spec.js";
import { adaptReranker } from "../core/adapted-reranker.js";
import type { RerankerBase, ScoringKind } from "../core/reranker-base.js";

export type { CorpusIndex, RerankerContext, RerankerFactory, RerankerLogger, RerankerSpec, StoredVectors } from "../core/reranker-spec.js";

/** A spec field a family cannot run without, and what to tell someone who left it out. */
export interface RequiredField {
  field: string;
  /** What the field should hold, e.g. "a hub id or a model folder". */
  hint: string;
}

/**
 * What differs between families beyond their factory, kept in their row so callers
 * (CLI, server, calibration) never test a family's `type`.
 */
export interface RerankerTraits {
  /** Fields checked before anything loads (the CLI names the flag). */
  requires?: RequiredField[];
  /** Spec fields `winnow calibrate` sets: the raw scores that calibration replaces. */
  calibration?: Record<string, unknown>;
  /** Defaults the server applies where the spec does not set them (see servingSpec). */
  serving?: Record<string, unknown>;
  /** How to name the model in output when the spec has none. */
  defaultModel?: string;
  /**
   * For a factory whose reranker does not extend RerankerBase: "pointwise" (default: its
   * scores are cached per document) or "listwise" (it gets topN, never cached).
   */
  scoring?: ScoringKind;
}

interface Entry extends RerankerTraits {
  description: string;
  /** Lazy so that, e.g., `winnow search` never loads ONNX Runtime. */
  load: () => Promise<RerankerFactory>;
}

const apiFactory = async () => (await import("./api/api-reranker-factory.js")).createApiReranker;

/** The built-in families. Adding a backend is one row here; no caller changes. */
const builtins: Record<string, Entry> = {
  learned: {
    description: "LambdaMART over relevance features (shipped default: models/learned-default.json; offline, pure JS)",
    load: async () => (await import("./learned/factory.js")).createLearnedReranker,
    defaultModel: "shipped models/learned-default.json",
  },
  "cross-encoder": {
    description: "Hugging Face cross-encoder on ONNX Runtime (local folder or hub id)",
    load: async () => (await import("./cross-encoder/cross-encoder-factory.js")).createCrossEncoderReranker,
    requires: [{ field: "model", hint: "a hub id or a model folder" }],
    calibration: { scores: "logit" },
    // The HTTP thread (parsing, tokenizing hand-offs, refusing floods) needs a core now and
    // then; spinning ONNX Runtime threads stall every parallel op while one of them is
    // descheduled (measured: 37 vs 22 ms per pair with one core busy; see pair-session.ts).
    serving: { spinWait: false },
  },
  colbert: {
    description: "ColBERT late interaction (MaxSim over token vectors) on ONNX Runtime: a model folder or hub id; reads an index's stored vectors (`winnow index --colbert`)",
    load: async () => (await import("./colbert/colbert-factory.js")).createColbertReranker,
    requires: [{ field: "model", hint: "a ColBERT model folder or hub id" }],
    // As for cross-encoders: ONNX Runtime threads must not spin against the HTTP thread.
    serving: { spinWait: false },
  },
  cohere: { description: "Cohere rerank API (v2; -O apiVersion=v1 for v1)", load: apiFactory },
  jina: { description: "Jina AI rerank API", load: apiFactory },
  voyage: { description: "Voyage AI rerank API", load: apiFactory },
  mixedbread: { description: "Mixedbread rerank API", load: apiFactory },
  tei: { description: "Hugging Face text-embeddings-inference /rerank server", load: apiFactory },
  infinity: { description: "Infinity /rerank server", load: apiFactory },
  vllm: { description: "vLLM's rerank API (/v1/rerank) on your own server", load: apiFactory },
  "vllm-score": { description: "vLLM's score API (/score) on your own server", load: apiFactory },
  "llama-cpp": { description: "llama.cpp server's /v1/rerank (started with --reranking)", load: apiFactory },
  llm: { description: "LLM reranker over an OpenAI-compatible chat endpoint (listwise, pointwise, pairwise)", load: async () => (await import("./llm/llm-reranker-factory.js")).createLlmReranker },
};

const custom = new Map<string, Entry>();

/**
 * Registers a reranker family under `type` (overrides a built-in of the same name).
 * `traits` declares what callers must know about it (required fields, server defaults…).
 */
export function registerReranker(type: string, factory: RerankerFactory, description = "", traits: RerankerTraits = {}): void {
  custom.set(type, { ...traits, description, load: async () => factory });
}

export function rerankerTypes(): Array<{ type: string; description: string }> {
  const all = new Map<string, Entry>([...Object.entries(builtins), ...custom]);
  return [...all].map(([type, e]) => ({ type, description: e.description })).sort((a, b) => a.type.localeCompare(b.type));
}

function entryFor(type: unknown): Entry | undefined {
  if (typeof type !== "string") return undefined;
  // hasOwn: a type like "toString" must be unknown, not an Object.prototype member.
  return custom.get(type) ?? (Object.hasOwn(builtins, type) ? builtins[type] : undefined);
}

function requireEntry(spec: RerankerSpec): Entry {
  if (spec === null || typeof spec !== "object" || typeof spec.type !== "string") {
    throw new WinnowError("CONFIG_INVALID", "reranker spec needs a string `type`", { details: { field: "type" } });
  }
  const entry = entryFor(spec.type);
  if (!entry) {
    const known = rerankerTypes().map((t) => t.type).join(", ");
    throw new WinnowError("CONFIG_INVALID", `unknown reranker type "${spec.type}" (known: ${known || "none"})`, {
      details: { field: "type" },
    });
  }
  return entry;
}

/** The family's traits (empty for an unknown type: createReranker reports that). */
export function rerankerTraits(type: string): RerankerTraits {
  const { load: _load, description: _description, ...traits } = entryFor(type) ?? { load: undefined, description: "" };
  return traits;
}

/** The first required field the spec leaves out, if any. */
export function missingRerankerField(spec: RerankerSpec): RequiredField | undefined {
  return rerankerTraits(spec.type).requires?.find((r) => spec[r.field] === undefined || spec[r.field] === "");
}

/** The spec as the server loads it: the family's serving defaults under what the spec sets. */
export function servingSpec(spec: RerankerSpec): RerankerSpec {
  const serving = rerankerTraits(spec.type).serving;
  return serving ? { ...serving, ...spec } : spec;
}

/** The spec as `winnow calibrate` scores with it: raw scores, the family's calibration fields over the spec's. */
export function calibrationSpec(spec: RerankerSpec): RerankerSpec {
  const calibration = rerankerTraits(spec.type).calibration;
  return calibration ? { ...spec, ...calibration } : spec;
}

/**
 * Creates a reranker from its spec. `context` carries what the caller has around it (the
 * first stage's index, stored vectors, the folder relative paths resolve against, a
 * logger); each family takes what it uses.
 */
export async function createReranker(spec: RerankerSpec, context: RerankerContext = {}): Promise<RerankerBase> {
  const entry = requireEntry(spec);
  const missing = missingRerankerField(spec);
  if (missing) {
    throw new WinnowError("CONFIG_INVALID", `${spec.type} reranker needs \`${missing.field}\`: ${missing.hint}`, { details: { field: missing.field } });
  }
  const factory = await entry.load();
  // A registered factory may return any Reranker: put it on the shared scoring path, keyed by its spec.
  return adaptReranker(await factory(spec, context), { settings: spec, scoring: entry.scoring });
}
