import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { WinnowError, throwIfAborted } from "../../core/errors.js";
import type { Candidate, Document, QueryInput, SearchOptions } from "../../core/types.js";
import { createEmbedder } from "../dense/create-embedder.js";
import type { Embedder, EmbedderSpec } from "../dense/embedder.js";
import type { FirstStageRetriever, RetrieverContext } from "../registry.js";
import type { SearchEngineRetrieverSpec } from "./search-engine-schema.js";
import { searchBody, templateHasPlaceholder, type EngineDialect, type SearchRequestPlan } from "./search-request.js";
import { engineError, hitsOf, partialResultWarnings, type SearchHit, type SearchResponseBody } from "./search-response.js";

/** One _search call as the engine's client makes it. */
export interface EngineSearchRequest {
  /** Absent when paging through a point in time (the PIT names the indexes). */
  index?: string;
  body: Record<string, unknown>;
  /** OpenSearch's search_pipeline parameter (hybrid normalization). */
  searchPipeline?: string;
}

/** The few calls Winnow needs from an engine's official client, so both engines share the rest. */
export interface EngineClient {
  search(request: EngineSearchRequest, signal?: AbortSignal): Promise<SearchResponseBody>;
  openPointInTime(index: string, keepAlive: string): Promise<string>;
  closePointInTime(id: string): Promise<void>;
  close(): Promise<void>;
}

/** Client connection settings both official clients take, from the spec's auth and tls. */
export interface EngineConnection {
  nodes: string[];
  apiKey?: string;
  username?: string;
  password?: string;
  ca?: string;
  rejectUnauthorized?: boolean;
  timeoutMs: number;
  maxRetries: number;
}

function envSecret(name: string, field: string, engine: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new WinnowError("CONFIG_INVALID", `${engine} retriever: ${field}: environment variable ${name} is not set`, { details: { field } });
  }
  return value;
}

export function engineConnection(spec: SearchEngineRetrieverSpec, context: RetrieverContext): EngineConnection {
  const auth = spec.auth ?? {};
  if ((auth.username === undefined) !== (auth.password === undefined && auth.passwordEnv === undefined)) {
    throw new WinnowError("CONFIG_INVALID", `${spec.type} retriever: auth: basic auth needs both username and password (or passwordEnv)`, { details: { field: "auth.username" } });
  }
  let ca: string | undefined;
  if (spec.tls?.caFile) {
    const path = resolve(context.baseDir ?? ".", spec.tls.caFile);
    try {
      ca = readFileSync(path, "utf8");
    } catch (err) {
      throw new WinnowError("CONFIG_INVALID", `${spec.type} retriever: tls.caFile: cannot read ${path}: ${(err as Error).message}`, { details: { field: "tls.caFile" } });
    }
  }
  return {
    nodes: Array.isArray(spec.node) ? spec.node : [spec.node],
    apiKey: auth.apiKey ?? (auth.apiKeyEnv ? envSecret(auth.apiKeyEnv, "auth.apiKeyEnv", spec.type) : undefined),
    username: auth.username,
    password: auth.password ?? (auth.passwordEnv ? envSecret(auth.passwordEnv, "auth.passwordEnv", spec.type) : undefined),
    ca,
    rejectUnauthorized: spec.tls?.rejectUnauthorized,
    timeoutMs: spec.timeoutMs,
    maxRetries: spec.maxRetries,
  };
}

/** Where partial-result warnings go when the context gives no `warn`: stderr, like the Redis cache's outage line. */
const stderrWarn = (message: string) => process.stderr.write(`winnow: warning: ${message}\n`);

/**
 * An OpenSearch or Elasticsearch index as a first stage: one _search for up to
 * `pageSize` hits, a point in time with search_after beyond that; the document text for
 * rerankers comes from `_source`.
 */
export class SearchEngineRetriever implements FirstStageRetriever {
  readonly name: string;
  private readonly plan: SearchRequestPlan;
  private readonly textField: string;
  private embedder?: Promise<Embedder>;
  private partialResponses = 0;
  private missingText = 0;
  private readonly warn: (message: string) => void;

  constructor(
    private readonly spec: SearchEngineRetrieverSpec,
    private readonly client: EngineClient,
    context: RetrieverContext,
  ) {
    this.name = spec.type;
    this.warn = context.warn ?? stderrWarn;
    if (spec.query !== undefined && !templateHasPlaceholder(spec.query)) {
      throw new WinnowError("CONFIG_INVALID", `${spec.type} retriever: query: the template has no "{{query}}" placeholder`, { details: { field: "query" } });
    }
    this.textField = spec.sourceFields.text ?? spec.fields[0].replace(/\^[\d.]+$/, "");
    const source = [this.textField, ...(spec.sourceFields.title ? [spec.sourceFields.title] : []), ...(spec.sourceFields.metadata ?? [])];
    this.plan = {
      dialect: spec.type as EngineDialect,
      fields: spec.fields,
      matchType: spec.matchType,
      template: spec.query,
      mode: spec.mode,
      knnField: spec.knn?.field,
      numCandidates: spec.knn?.numCandidates,
      filters: spec.filters ?? [],
      metadataPrefix: spec.metadataPrefix,
      sourceFields: [...new Set(source)],
      lexicalBoost: spec.type === "elasticsearch" ? spec.lexicalBoost : undefined,
      knnBoost: spec.type === "elasticsearch" ? spec.knnBoost : undefined,
    };
  }

  private async queryVector(text: string, signal?: AbortSignal): Promise<number[] | undefined> {
    if (this.plan.mode === "lexical") return undefined;
    this.embedder ??= createEmbedder(this.spec.knn!.embedder as EmbedderSpec);
    const [v] = await (await this.embedder).embed([text], "query", signal);
    return Array.from(v);
  }

  async search(query: QueryInput, k: number, options: SearchOptions = {}): Promise<Candidate[]> {
    if (!Number.isInteger(k) || k < 1) throw new WinnowError("INVALID_INPUT", `${this.name} retriever: k must be a positive integer, got ${k}`, { details: { field: "k" } });
    const text = typeof query === "string" ? query : query.text;
    if (this.plan.mode !== "lexical" && k > this.spec.pageSize) {
      throw new WinnowError("INVALID_INPUT", `${this.name} retriever: k ${k} exceeds pageSize ${this.spec.pageSize}: kNN lists cannot be paged with search_after`, { details: { field: "k", limit: this.spec.pageSize } });
    }
    const vector = await this.queryVector(text, options.signal);
    throwIfAborted(options.signal);
    const hits = k <= this.spec.pageSize ? await this.onePage(text, vector, k, options) : await this.deepList(text, k, options);
    return hits.map((hit, i) => this.candidate(hit, i));
  }

  private async onePage(text: string, vector: number[] | undefined, k: number, options: SearchOptions): Promise<SearchHit[]> {
    const body = searchBody(this.plan, text, vector, k, options.filter);
    const response = await this.call({ index: this.spec.index, body, searchPipeline: this.spec.searchPipeline }, options.signal);
    return hitsOf(this.name, response).slice(0, k);
  }

  /**
   * More hits than one request may return: a point in time keeps the view stable while
   * search_after walks it page by page, sorted by score with the engine's tiebreaker.
   */
  private async deepList(text: string, k: number, options: SearchOptions): Promise<SearchHit[]> {
    let pit: string;
    try {
      pit = await this.client.openPointInTime(this.spec.index, this.spec.keepAlive);
    } catch (err) {
      throw engineError(this.name, this.plan.dialect, err);
    }
    const out: SearchHit[] = [];
    try {
      let after: unknown[] | undefined;
      while (out.length < k) {
        const size = Math.min(this.spec.pageSize, k - out.length);
        const body = searchBody(this.plan, text, undefined, size, options.filter);
        body.pit = { id: pit, keep_alive: this.spec.keepAlive };
        // Elasticsearch adds _shard_doc as the tiebreaker itself; OpenSearch needs one named.
        body.sort = this.plan.dialect === "elasticsearch" ? [{ _score: "desc" }] : [{ _score: "desc" }, { _id: "asc" }];
        if (after) body.search_after = after;
        const response = await this.call({ body }, options.signal);
        if (response.pit_id) pit = response.pit_id;
        const hits = hitsOf(this.name, response);
        out.push(...hits);
        if (hits.length < size) break;
        after = hits[hits.length - 1].sort;
        if (!Array.isArray(after)) throw new WinnowError("UPSTREAM_ERROR", `${this.name} retriever: a sorted page's last hit has no sort values for search_after`);
      }
    } finally {
      await this.client.closePointInTime(pit).catch((err: unknown) => this.warn(`${this.name} retriever: could not close point in time (${(err as Error).message}); it expires after ${this.spec.keepAlive}`));
    }
    return out.slice(0, k);
  }

  private async call(request: EngineSearchRequest, signal?: AbortSignal): Promise<SearchResponseBody> {
    let response: SearchResponseBody;
    const node = Array.isArray(this.spec.node) ? this.spec.node.join(",") : this.spec.node;
    // Our own deadline as well as the client's: the Elasticsearch client's undici timers fire up to a second late.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error("deadline"), { name: "TimeoutError" })), this.spec.timeoutMs);
    });
    try {
      const searching = this.client.search(request, signal);
      // The loser of the race settles later; observe it so it is not reported unhandled.
      searching.catch(() => undefined);
      response = await Promise.race([searching, deadline]);
    } catch (err) {
      throwIfAborted(signal);
      throw engineError(this.name, node, err);
    } finally {
      clearTimeout(timer);
    }
    const warnings = partialResultWarnings(this.name, response);
    if (warnings.length) this.partialResponses++;
    for (const w of warnings) this.warn(w);
    return response;
  }

  private candidate(hit: SearchHit, i: number): Candidate {
    const source = hit._source ?? {};
    const raw = source[this.textField];
    if (typeof raw !== "string") {
      // Rerankers would read an empty passage: say so once, count every one.
      if (this.missingText++ === 0) this.warn(`${this.name} retriever: hit ${hit._id} has no string _source.${this.textField}; reranking it reads an empty text (set sourceFields.text)`);
    }
    const document: Document = { id: String(hit._id), text: typeof raw === "string" ? raw : "" };
    const title = this.spec.sourceFields.title ? source[this.spec.sourceFields.title] : undefined;
    if (typeof title === "string") document.title = title;
    if (this.spec.sourceFields.metadata?.length) {
      document.metadata = Object.fromEntries(this.spec.sourceFields.metadata.filter((f) => f in source).map((f) => [f, source[f]]));
    }
    const score = typeof hit._score === "number" ? hit._score : 0;
    return { document, score, rank: i + 1, source: this.name, scores: { [this.name]: score } };
  }

  describe(): Record<string, unknown> {
    return {
      type: this.name,
      index: this.spec.index,
      mode: this.spec.mode,
      fields: this.spec.fields,
      ...(this.spec.query ? { query: "template" } : { matchType: this.spec.matchType }),
      partialResponses: this.partialResponses,
      hitsWithoutText: this.missingText,
    };
  }

  async close(): Promise<void> {
    await this.client.close();
    if (this.embedder) await (await this.embedder).close?.();
  }
}
