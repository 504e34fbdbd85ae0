/**
 * Turns texts into vectors for dense retrieval. Queries and documents are embedded
 * separately because many models want different prefixes (`query: ` / `passage: `).
 */
export interface Embedder {
  /** Identity of the model and settings (for caches and to check an index matches its queries). */
  readonly id: string;
  /** The spec that recreates this embedder, stored with the vectors by `winnow embed`. */
  readonly spec: EmbedderSpec;
  embed(texts: readonly string[], kind: "query" | "document", signal?: AbortSignal): Promise<Float32Array[]>;
  close?(): Promise<void>;
}

export interface EmbedderSpec {
  type: "onnx" | "openai";
  [option: string]: unknown;
}

/** Settings every embedder shares. */
export interface EmbeddingTextOptions {
  /** Prepended to queries, e.g. `query: ` (E5) or `Represent this sentence for searching relevant passages: ` (BGE). */
  queryPrefix?: string;
  /** Prepended to documents, e.g. `passage: `. */
  documentPrefix?: string;
  /** L2-normalize outputs (default true), so inner product is cosine. */
  normalize?: boolean;
  /** Texts per model call or HTTP request (default 32). */
  batchSize?: number;
}

export function withPrefix(texts: readonly string[], kind: "query" | "document", o: EmbeddingTextOptions): string[] {
  const prefix = kind === "query" ? (o.queryPrefix ?? "") : (o.documentPrefix ?? "");
  return prefix ? texts.map((t) => prefix + t) : [...texts];
}
