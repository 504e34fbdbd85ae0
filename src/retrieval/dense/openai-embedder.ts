import { InvalidInputError, WinnowError } from "../../core/errors.js";
import { l2Normalize } from "../vector/exact-vector-index.js";
import { withPrefix, type Embedder, type EmbedderSpec, type EmbeddingTextOptions } from "./embedder.js";

export interface OpenAIEmbedderOptions extends EmbeddingTextOptions {
  /** e.g. https://api.openai.com/v1 or a local vLLM / TEI / Ollama OpenAI-compatible server. */
  baseUrl: string;
  model: string;
  /** Bearer token; default from OPENAI_API_KEY. Never stored in the index. */
  apiKey?: string;
  /** Ask for shorter vectors (models that support it). */
  dimensions?: number;
  timeoutMs?: number;
}

interface EmbeddingsResponse {
  data?: Array<{ index?: number; embedding?: unknown }>;
}

/** Embeddings from any OpenAI-compatible `POST {baseUrl}/embeddings`. */
export class OpenAIEmbedder implements Embedder {
  readonly id: string;
  readonly spec: EmbedderSpec;
  private readonly url: string;
  private readonly batchSize: number;

  constructor(private readonly options: OpenAIEmbedderOptions) {
    if (typeof options.baseUrl !== "string" || !/^https?:\/\//.test(options.baseUrl)) {
      throw new InvalidInputError(`embedder.baseUrl must be an http(s) URL, got ${String(options.baseUrl)}`, { field: "embedder.baseUrl" });
    }
    if (typeof options.model !== "string" || options.model.length === 0) {
      throw new InvalidInputError("embedder.model is required for an OpenAI-compatible embedder", { field: "embedder.model" });
    }
    this.batchSize = options.batchSize ?? 32;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1 || this.batchSize > 2048) {
      throw new InvalidInputError(`embedder.batchSize must be an integer in 1..2048`, { field: "embedder.batchSize" });
    }
    this.url = `${options.baseUrl.replace(/\/+$/, "")}/embeddings`;
    const { apiKey: _secret, ...rest } = options;
    this.spec = { type: "openai", ...rest };
    this.id = `openai:${options.baseUrl}:${options.model}:${options.dimensions ?? ""}:${options.queryPrefix ?? ""}:${options.documentPrefix ?? ""}`;
  }

  async embed(texts: readonly string[], kind: "query" | "document", signal?: AbortSignal): Promise<Float32Array[]> {
    const inputs = withPrefix(texts, kind, this.options);
    const out: Float32Array[] = [];
    for (let i = 0; i < inputs.length; i += this.batchSize) {
      out.push(...(await this.request(inputs.slice(i, i + this.batchSize), signal)));
    }
    return out;
  }

  private async request(input: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const key = this.options.apiKey ?? process.env.OPENAI_API_KEY;
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 30_000);
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body: JSON.stringify({ model: this.options.model, input, ...(this.options.dimensions ? { dimensions: this.options.dimensions } : {}) }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      if (signal?.aborted) throw new WinnowError("ABORTED", "embedding request aborted", { cause: err });
      throw new WinnowError(timeout.aborted ? "TIMEOUT" : "UPSTREAM_ERROR", `embeddings ${this.url}: ${(err as Error).message}`, { details: { url: this.url }, cause: err });
    }
    if (!res.ok) {
      const body = (await res.text().catch(() => "")).slice(0, 300);
      throw new WinnowError(res.status === 429 ? "RATE_LIMITED" : res.status === 401 ? "UNAUTHORIZED" : "UPSTREAM_ERROR", `embeddings ${this.url}: HTTP ${res.status}: ${body}`, {
        details: { url: this.url, status: res.status },
      });
    }
    const json = (await res.json()) as EmbeddingsResponse;
    const data = json.data;
    if (!Array.isArray(data) || data.length !== input.length) {
      throw new WinnowError("UPSTREAM_ERROR", `embeddings ${this.url}: expected ${input.length} embeddings, got ${Array.isArray(data) ? data.length : "none"}`, { details: { url: this.url } });
    }
    // The API may return items out of order; `index` says which input each belongs to.
    const rows: Float32Array[] = new Array(input.length);
    data.forEach((d, i) => {
      const at = typeof d.index === "number" ? d.index : i;
      if (!Array.isArray(d.embedding) || at < 0 || at >= input.length) {
        throw new WinnowError("UPSTREAM_ERROR", `embeddings ${this.url}: item ${i} has no embedding array`, { details: { url: this.url } });
      }
      const v = Float32Array.from(d.embedding as number[]);
      rows[at] = this.options.normalize === false ? v : l2Normalize(v);
    });
    return rows;
  }
}
