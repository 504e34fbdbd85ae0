import type { JSONObject, JSONValue, RerankingModelV3, RerankingModelV3CallOptions, SharedV3Warning } from "@ai-sdk/provider";
import type { RerankerContext } from "../../core/reranker-spec.js";
import type { Document } from "../../core/types.js";
import { LazyReranker, sourceModelId, type RerankerSource } from "../reranker-source.js";

/** Per-call options read from `providerOptions.winnow` of the AI SDK's `rerank()`. */
export interface WinnowRerankProviderOptions {
  /** For rerankers that take an instruction; the others refuse it (an error, never dropped). */
  instruction?: string;
}

type DocumentsOption = RerankingModelV3CallOptions["documents"];

/**
 * An object document as Winnow reads it: `text` (or `pageContent`, `content`) is the
 * ranked text, `title` the title, `id` the id, other string fields are named fields and
 * the rest metadata. An object with no such text is ranked on its JSON, as the AI SDK's
 * Cohere provider does, and the call says so in a warning.
 */
function objectDocument(value: JSONObject, i: number): { document: Document; asJson: boolean } {
  const text = [value.text, value.pageContent, value.content].find((t): t is string => typeof t === "string");
  const fields: Record<string, string> = {};
  const metadata: Record<string, JSONValue | undefined> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === "text" || k === "pageContent" || k === "content" || k === "title" || k === "id") continue;
    if (typeof v === "string") fields[k] = v;
    else metadata[k] = v;
  }
  const id = typeof value.id === "string" || typeof value.id === "number" ? String(value.id) : String(i);
  const document: Document = { id, text: text ?? JSON.stringify(value), fields, metadata };
  if (typeof value.title === "string") document.title = value.title;
  return { document, asJson: text === undefined };
}

function toDocuments(documents: DocumentsOption): { docs: Array<string | Document>; jsonRanked: number } {
  if (documents.type === "text") return { docs: documents.values, jsonRanked: 0 };
  let jsonRanked = 0;
  const docs = documents.values.map((v, i) => {
    const { document, asJson } = objectDocument(v, i);
    if (asJson) jsonRanked++;
    return document;
  });
  return { docs, jsonRanked };
}

function winnowOptions(providerOptions: RerankingModelV3CallOptions["providerOptions"]): WinnowRerankProviderOptions {
  const own = providerOptions?.winnow;
  return own && typeof own.instruction === "string" ? { instruction: own.instruction } : {};
}

/**
 * Any Winnow reranker as an AI SDK reranking model (specification v3), so `rerank()` of
 * package `ai` runs it in process: `rerank({ model: winnow.reranking("learned"), query, documents })`.
 */
export class WinnowRerankingModel implements RerankingModelV3 {
  readonly specificationVersion = "v3";
  readonly provider = "winnow";
  readonly modelId: string;
  private readonly reranker: LazyReranker;

  constructor(source: RerankerSource, context: RerankerContext = {}) {
    this.reranker = new LazyReranker(source, context);
    this.modelId = sourceModelId(source);
  }

  async doRerank(options: RerankingModelV3CallOptions): Promise<Awaited<ReturnType<RerankingModelV3["doRerank"]>>> {
    const { docs, jsonRanked } = toDocuments(options.documents);
    const warnings: SharedV3Warning[] = [];
    if (jsonRanked > 0) {
      warnings.push({ type: "compatibility", feature: "object documents", details: `${jsonRanked} object document(s) have no text, pageContent or content field and were ranked on their JSON` });
    }
    if (docs.length === 0) return { ranking: [], warnings };
    const reranker = await this.reranker.get();
    const rerankWarnings: string[] = [];
    const results = await reranker.rerank(options.query, docs, {
      topN: options.topN,
      signal: options.abortSignal,
      returnDocuments: false,
      ...winnowOptions(options.providerOptions),
      onWarnings: (w) => rerankWarnings.push(...w),
    });
    for (const message of rerankWarnings) warnings.push({ type: "other", message });
    return { ranking: results.map((r) => ({ index: r.index, relevanceScore: r.score })), warnings, response: { modelId: this.modelId } };
  }

  /** Releases the reranker this model built (a Reranker instance passed in is left open). */
  close(): Promise<void> {
    return this.reranker.close();
  }
}
