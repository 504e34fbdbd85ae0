import { z } from "zod";
import { WinnowError } from "../../core/errors.js";
import { documentText } from "../../core/inputs.js";
import { RerankerBase, stableJson, type ScoringCall, type ScoringOutcome } from "../../core/reranker-base.js";
import { ConcurrencyLimiter, mapWithLimit } from "../http/concurrency-limiter.js";
import { degradedLogEvents, type WarnLogger } from "../http/degraded-fallback.js";
import { JsonHttpClient } from "../http/json-client.js";
import { parseRerankerOptions, remoteOptionsShape, resolveApiKey } from "../http/remote-options.js";
import { bodyExcerpt, malformedResponseError } from "../http/upstream-error.js";
import { PROVIDER_NAMES, PROVIDERS, type ProviderName, type ProviderRow } from "./providers.js";

const apiOptionsSchema = z
  .object({
    provider: z.enum(PROVIDER_NAMES as [ProviderName, ...ProviderName[]]),
    model: z.string().min(1).optional(),
    ...remoteOptionsShape,
    /** Override the row's per-call document limit (e.g. a TEI started with a larger --max-client-batch-size). */
    maxDocumentsPerCall: z.number().int().min(1).max(100_000).optional(),
    /** Cohere v2: per-document token cap. */
    maxTokensPerDoc: z.number().int().min(1).optional(),
    /** Voyage `truncation` / TEI `truncate`; sent only when set. */
    truncate: z.boolean().optional(),
  })
  .strict();

export type ApiRerankerSettings = z.input<typeof apiOptionsSchema>;

/** Usage of one `rerank` call, summed over the calls it was split into. */
export interface ApiUsage {
  /** HTTP requests sent, retries included. */
  requests: number;
  retries: number;
  searchUnits?: number;
  totalTokens?: number;
}

export interface ApiRerankerStats {
  calls: number;
  requests: number;
  retries: number;
  /** Calls answered with the first-stage order because the upstream failed (onError: "fallback"). */
  degraded: number;
  /** Calls that threw an upstream error to the caller. */
  failed: number;
  searchUnits: number;
  totalTokens: number;
}

export interface ApiRerankerOptions extends ApiRerankerSettings {
  /** Called after every successful `rerank` with that call's usage. */
  onUsage?: (usage: ApiUsage) => void;
  /** Where degraded events are logged (default: pino on stderr). */
  logger?: WarnLogger;
  /** Test seam: deterministic backoff jitter. */
  random?: () => number;
}

interface ResultItem {
  index: number;
  score: number;
}

/**
 * A hosted rerank API (Cohere, Jina, Voyage, Mixedbread) or a self-hosted rerank
 * server (TEI, Infinity) behind the Reranker interface. One table-driven client:
 * the vendor's row in ./providers.ts says how to speak to it. Requests over the
 * vendor's per-call limit are split, sent with bounded concurrency and merged by index.
 */
export class ApiReranker extends RerankerBase {
  readonly name: string;
  readonly scoring = "pointwise";
  readonly provider: ProviderName;
  readonly model: string | undefined;
  /** Usage of the most recent successful call. */
  lastUsage: ApiUsage | undefined;

  private readonly row: ProviderRow;
  private readonly url: string;
  private readonly client: JsonHttpClient;
  private readonly limiter: ConcurrencyLimiter;
  private readonly settings: z.output<typeof apiOptionsSchema>;
  private readonly onUsage?: (usage: ApiUsage) => void;
  private readonly counters: ApiRerankerStats = { calls: 0, requests: 0, retries: 0, degraded: 0, failed: 0, searchUnits: 0, totalTokens: 0 };

  constructor(options: ApiRerankerOptions) {
    const { onUsage, logger, random, ...rest } = options;
    const s = parseRerankerOptions(apiOptionsSchema, rest, `api(${String(options.provider)})`);
    super({ onError: s.onError, events: degradedLogEvents(logger) });
    this.settings = s;
    this.provider = s.provider;
    this.row = PROVIDERS[s.provider];
    this.model = s.model ?? this.row.defaultModel;
    if (this.row.sendsModel && !this.row.modelOptional && !this.model) {
      throw new WinnowError("CONFIG_INVALID", `${s.provider} reranker option \`model\` is required`, { details: { field: "model" } });
    }
    const key = resolveApiKey(s.apiKey, s.apiKeyEnv, this.row.apiKeyEnv);
    if (!key && this.row.keyRequired) {
      const envs = s.apiKeyEnv ? [s.apiKeyEnv] : this.row.apiKeyEnv;
      throw new WinnowError("CONFIG_INVALID", `${s.provider} reranker needs an API key: set ${envs.join(" or ")} or pass \`apiKey\``, {
        details: { field: "apiKey" },
      });
    }
    const base = (s.baseUrl ?? this.row.defaultBaseUrl).replace(/\/+$/, "");
    this.url = base + this.row.path;
    this.name = `${s.provider}:${this.model ?? base}`;
    this.client = new JsonHttpClient({
      upstream: s.provider,
      timeoutMs: s.timeoutMs,
      retry: { maxRetries: s.maxRetries, baseDelayMs: s.backoffBaseMs, maxDelayMs: s.backoffMaxMs, retryAfterCapMs: s.retryAfterCapMs },
      headers: key ? { authorization: `Bearer ${key}` } : {},
      secrets: key ? [key] : [],
      random,
    });
    this.limiter = new ConcurrencyLimiter(s.concurrency);
    this.onUsage = onUsage;
  }

  /** Largest number of documents one upstream call carries. */
  get maxDocumentsPerCall(): number {
    return this.settings.maxDocumentsPerCall ?? this.row.maxDocumentsPerCall;
  }

  /** Cumulative counters since construction (a copy). */
  stats(): ApiRerankerStats {
    return { ...this.counters };
  }

  /** The vendor, model, endpoint and the request fields that change a score. */
  protected override cacheIdentity(): string {
    return stableJson({ provider: this.provider, model: this.model, url: this.url, maxTokensPerDoc: this.settings.maxTokensPerDoc, truncate: this.settings.truncate });
  }

  protected override scoringFailed(_error: unknown, degraded: boolean): void {
    if (degraded) this.counters.degraded++;
    else this.counters.failed++;
  }

  protected async score(call: ScoringCall): Promise<ScoringOutcome> {
    this.counters.calls++;
    const texts = call.candidates.map((c) => documentText(c.document));
    const per = this.maxDocumentsPerCall;
    const chunks: Array<{ offset: number; texts: string[] }> = [];
    for (let offset = 0; offset < texts.length; offset += per) chunks.push({ offset, texts: texts.slice(offset, offset + per) });

    const usage: ApiUsage = { requests: 0, retries: 0 };
    // One failed chunk makes the whole answer unusable: stop its siblings early.
    const siblings = new AbortController();
    const signal = call.signal ? AbortSignal.any([call.signal, siblings.signal]) : siblings.signal;
    const scores = new Float64Array(texts.length).fill(Number.NaN);
    try {
      await mapWithLimit(chunks, this.limiter, async (chunk) => {
        try {
          const items = await this.callChunk(call.query.text, chunk.texts, signal, usage);
          for (const it of items) scores[chunk.offset + it.index] = it.score;
        } catch (err) {
          siblings.abort(err);
          throw err;
        }
      });
    } finally {
      this.counters.requests += usage.requests;
      this.counters.retries += usage.retries;
    }
    this.counters.searchUnits += usage.searchUnits ?? 0;
    this.counters.totalTokens += usage.totalTokens ?? 0;
    this.lastUsage = usage;
    this.onUsage?.(usage);
    return { scores };
  }

  private requestBody(query: string, texts: string[]): Record<string, unknown> {
    const f = this.row.fields;
    const body: Record<string, unknown> = { [f.query ?? "query"]: query, [f.documents]: texts };
    if (this.row.sendsModel && this.model !== undefined) body.model = this.model;
    // Every score is needed to merge split requests, so ask for all of them.
    if (f.topN) body[f.topN] = texts.length;
    if (f.returnDocuments) body[f.returnDocuments] = false;
    if (f.maxTokensPerDoc && this.settings.maxTokensPerDoc !== undefined) body[f.maxTokensPerDoc] = this.settings.maxTokensPerDoc;
    if (f.truncate && this.settings.truncate !== undefined) body[f.truncate] = this.settings.truncate;
    return { ...body, ...this.row.extraBody };
  }

  private async callChunk(query: string, texts: string[], signal: AbortSignal, usage: ApiUsage): Promise<ResultItem[]> {
    const res = await this.client.postJson(this.url, this.requestBody(query, texts), {
      signal,
      onRetry: () => {
        usage.retries++;
        usage.requests++;
      },
    });
    usage.requests++;
    const items = this.parseResults(res.body, texts.length, res.text);
    const u = this.row.usage(res.body !== null && typeof res.body === "object" ? (res.body as Record<string, unknown>) : {});
    if (u.searchUnits !== undefined) usage.searchUnits = (usage.searchUnits ?? 0) + u.searchUnits;
    if (u.totalTokens !== undefined) usage.totalTokens = (usage.totalTokens ?? 0) + u.totalTokens;
    return items;
  }

  /** Checks the vendor kept its promise: one finite score for every document index, no strays. */
  private parseResults(body: unknown, count: number, text: string): ResultItem[] {
    const bad = (problem: string) => malformedResponseError(this.provider, problem, bodyExcerpt(text, []));
    const where = this.row.resultsAt;
    const list = where === "body" ? body : body !== null && typeof body === "object" ? (body as Record<string, unknown>)[where] : undefined;
    if (!Array.isArray(list)) throw bad(where === "body" ? "expected a JSON array of results" : `expected \`${where}\` to be an array`);
    const seen = new Uint8Array(count);
    const items: ResultItem[] = [];
    for (const raw of list) {
      const item = raw as Record<string, unknown> | null;
      const index = item?.index;
      const score = item?.[this.row.scoreField];
      if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= count) {
        throw bad(`result index ${JSON.stringify(index)} outside 0..${count - 1}`);
      }
      if (typeof score !== "number" || !Number.isFinite(score)) throw bad(`result ${index} has no numeric \`${this.row.scoreField}\``);
      if (seen[index]) throw bad(`index ${index} returned twice`);
      seen[index] = 1;
      items.push({ index, score });
    }
    if (items.length !== count) throw bad(`${count - items.length} of ${count} documents missing from the results`);
    return items;
  }
}
