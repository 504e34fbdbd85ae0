import { z } from "zod";
import { WinnowError } from "../../core/errors.js";
import { documentText } from "../../core/inputs.js";
import { RerankerBase, stableJson, type InstructionSupport, type ScoringCall, type ScoringKind, type ScoringOutcome } from "../../core/reranker-base.js";
import type { Candidate } from "../../core/types.js";
import { ConcurrencyLimiter } from "../http/concurrency-limiter.js";
import { degradedLogEvents, type WarnLogger } from "../http/degraded-fallback.js";
import { parseRerankerOptions, remoteOptionsShape, resolveApiKey } from "../http/remote-options.js";
import { ChatClient, type ChatAnswer, type ChatMessage } from "./chat-client.js";
import { slidingWindowOrder } from "./listwise.js";
import { heapTopK, MemoizedComparator } from "./pairwise.js";
import { addRepairs, emptyRepairs, parsePermutation, stripReasoning, type PermutationRepairs } from "./permutation-parser.js";
import { DEFAULT_TEMPLATES, numberedPassages, renderTemplate, type ChatTemplate, type PromptTemplates } from "./prompt-templates.js";
import { PromptBudget } from "./token-budget.js";

const templateShape = z.object({ system: z.string().optional(), user: z.string().min(1).optional() }).strict();

const llmOptionsSchema = z
  .object({
    mode: z.enum(["listwise", "pointwise", "pairwise"]).default("listwise"),
    model: z.string().min(1),
    ...remoteOptionsShape,
    baseUrl: z.url({ protocol: /^https?$/ }),
    timeoutMs: z.number().int().positive().max(600_000).default(60_000),
    /** Listwise: passages per call, and how far the window moves up each time. */
    window: z.number().int().min(2).max(100).default(20),
    step: z.number().int().min(1).max(99).default(10),
    /** Pointwise (JSON scoring): passages per call. */
    batchSize: z.number().int().min(1).max(50).default(5),
    /** Pointwise: "auto" uses yes/no log-probabilities when the endpoint returns them, else JSON scores. */
    scoring: z.enum(["auto", "logprobs", "json"]).default("auto"),
    /** Pairwise: how many top places to sort (default: the call's topN, else all). */
    topK: z.number().int().min(1).optional(),
    maxPromptTokens: z.number().int().min(64).max(2_000_000).default(8192),
    maxPassageTokens: z.number().int().min(8).max(100_000).default(300),
    encoding: z.enum(["cl100k_base", "o200k_base"]).default("cl100k_base"),
    temperature: z.number().min(0).max(2).default(0),
    /** Completion cap for listwise, pointwise-JSON and pairwise answers (default: sized to the answer; raise it for models that think first). */
    maxOutputTokens: z.number().int().min(1).max(1_000_000).optional(),
    seed: z.number().int().nullable().default(0),
    /** Instruction used when a call gives none (e.g. "prefer documents from after 2020"). */
    instruction: z.string().optional(),
    templates: z
      .object({ listwise: templateShape, pointwise: templateShape, yesNo: templateShape, pairwise: templateShape })
      .partial()
      .strict()
      .optional(),
    /** Prices for cost accounting, in your currency per 1,000 tokens. */
    pricePer1kPromptTokens: z.number().min(0).default(0),
    pricePer1kCompletionTokens: z.number().min(0).default(0),
  })
  .strict()
  .refine((o) => o.step < o.window, { message: "must be smaller than `window`", path: ["step"] });

export type LlmRerankerSettings = z.input<typeof llmOptionsSchema>;
export type LlmMode = "listwise" | "pointwise" | "pairwise";

/** What the model got wrong and how it was repaired, summed over one call or over a reranker's life. */
export interface LlmRepairs extends PermutationRepairs {
  /** Pointwise/pairwise answers that could not be read (a pointwise batch is asked once more). */
  unparseable: number;
  /** Pointwise candidates left without a score after the retry; they rank below scored ones, in first-stage order. */
  unscored: number;
}

/** Token and cost accounting for one `rerank` call (or, in stats(), all of them). */
export interface LlmUsage {
  /** Chat completions that returned (retries not included). */
  calls: number;
  retries: number;
  promptTokens: number;
  completionTokens: number;
  cost: number;
  /** Passages shown cut to fit the prompt budget (a passage in several prompts counts each time). */
  truncatedPassages: number;
  repairs: LlmRepairs;
  /** Pairwise: distinct pairs compared (each costs two calls, one per order). */
  comparisons: number;
  /** Pairwise: pairs where the two orders disagreed (position bias), settled by first-stage order. */
  ties: number;
  /** Listwise: windows ranked. */
  windows: number;
}

export interface LlmRerankerStats extends LlmUsage {
  queries: number;
  degraded: number;
  failed: number;
}

export interface LlmRerankerOptions extends LlmRerankerSettings {
  onUsage?: (usage: LlmUsage) => void;
  logger?: WarnLogger;
  random?: () => number;
}

function emptyUsage(): LlmUsage {
  return {
    calls: 0,
    retries: 0,
    promptTokens: 0,
    completionTokens: 0,
    cost: 0,
    truncatedPassages: 0,
    repairs: { ...emptyRepairs(), unparseable: 0, unscored: 0 },
    comparisons: 0,
    ties: 0,
    windows: 0,
  };
}

function addUsage(into: LlmUsage, from: LlmUsage): void {
  for (const k of ["calls", "retries", "promptTokens", "completionTokens", "cost", "truncatedPassages", "comparisons", "ties", "windows"] as const) into[k] += from[k];
  addRepairs(into.repairs, from.repairs);
  into.repairs.unparseable += from.repairs.unparseable;
  into.repairs.unscored += from.repairs.unscored;
}

interface CallContext {
  query: string;
  instruction: string;
  signal?: AbortSignal;
  usage: LlmUsage;
  /** Truncated passages of this call, reused across windows and pairs. */
  cuts: Map<string, { text: string; truncated: boolean }>;
}

/**
 * An LLM as a reranker over any OpenAI-compatible chat endpoint (OpenAI, vLLM,
 * llama.cpp server, Ollama): listwise (RankGPT sliding window), pointwise (0–10 JSON
 * scores, or yes/no log-probabilities when the endpoint returns them) or pairwise
 * (both orders per pair, heap top-k). Prompts are templates; every call stays in a
 * token budget; usage and cost are counted per query.
 */
export class LlmReranker extends RerankerBase {
  readonly name: string;
  readonly mode: LlmMode;
  /** Pointwise mode scores each passage alone; listwise and pairwise order the list as a whole. */
  readonly scoring: ScoringKind;
  /** Every prompt template has an {instruction} slot. */
  override readonly instruction: InstructionSupport = "accepted";
  lastUsage: LlmUsage | undefined;

  private readonly s: z.output<typeof llmOptionsSchema>;
  private readonly chat: ChatClient;
  private readonly limiter: ConcurrencyLimiter;
  private budget: PromptBudget | undefined;
  private readonly templates: PromptTemplates;
  private readonly onUsage?: (usage: LlmUsage) => void;
  private readonly totals: LlmRerankerStats = { ...emptyUsage(), queries: 0, degraded: 0, failed: 0 };
  /** Pointwise "auto": learned on first use whether the endpoint returns log-probabilities. */
  private logprobsAvailable: boolean | undefined;

  constructor(options: LlmRerankerOptions) {
    const { onUsage, logger, random, ...rest } = options;
    const s = parseRerankerOptions(llmOptionsSchema, rest, "llm");
    super({ onError: s.onError, events: degradedLogEvents(logger) });
    this.s = s;
    this.mode = this.s.mode;
    this.scoring = this.mode === "pointwise" ? "pointwise" : "listwise";
    const base = this.s.baseUrl.replace(/\/+$/, "");
    // OPENAI_API_KEY goes only to OpenAI itself, never to an arbitrary local server.
    const envNames = new URL(base).hostname === "api.openai.com" ? ["WINNOW_LLM_API_KEY", "OPENAI_API_KEY"] : ["WINNOW_LLM_API_KEY"];
    const apiKey = resolveApiKey(this.s.apiKey, this.s.apiKeyEnv, envNames);
    this.chat = new ChatClient({
      baseUrl: base,
      model: this.s.model,
      apiKey,
      timeoutMs: this.s.timeoutMs,
      retry: { maxRetries: this.s.maxRetries, baseDelayMs: this.s.backoffBaseMs, maxDelayMs: this.s.backoffMaxMs, retryAfterCapMs: this.s.retryAfterCapMs },
      temperature: this.s.temperature,
      seed: this.s.seed,
      random,
    });
    this.name = `llm-${this.mode}:${this.s.model}`;
    this.limiter = new ConcurrencyLimiter(this.s.concurrency);
    const t = this.s.templates ?? {};
    const merge = (d: ChatTemplate, o?: { system?: string; user?: string }): ChatTemplate => ({ system: o?.system ?? d.system, user: o?.user ?? d.user });
    this.templates = {
      listwise: merge(DEFAULT_TEMPLATES.listwise, t.listwise),
      pointwise: merge(DEFAULT_TEMPLATES.pointwise, t.pointwise),
      yesNo: merge(DEFAULT_TEMPLATES.yesNo, t.yesNo),
      pairwise: merge(DEFAULT_TEMPLATES.pairwise, t.pairwise),
    };
    this.onUsage = onUsage;
  }

  /** Cumulative usage, repairs and failure counters since construction (a copy). */
  stats(): LlmRerankerStats {
    return structuredClone(this.totals);
  }

  /** Pointwise mode only (the base never caches listwise): model, endpoint and everything that shapes a prompt or its reading. */
  protected override cacheIdentity(): string {
    const s = this.s;
    return stableJson({
      family: "llm-pointwise",
      baseUrl: s.baseUrl,
      model: s.model,
      scoring: s.scoring,
      batchSize: s.batchSize,
      templates: this.templates,
      maxPromptTokens: s.maxPromptTokens,
      maxPassageTokens: s.maxPassageTokens,
      encoding: s.encoding,
      temperature: s.temperature,
      seed: s.seed,
      instruction: s.instruction,
    });
  }

  protected override scoringFailed(_error: unknown, degraded: boolean): void {
    if (degraded) this.totals.degraded++;
    else this.totals.failed++;
  }

  protected async score(call: ScoringCall): Promise<ScoringOutcome> {
    const instruction = call.instruction ?? this.s.instruction ?? "";
    const ctx: CallContext = { query: call.query.text, instruction: instruction ? `Instruction: ${instruction}` : "", signal: call.signal, usage: emptyUsage(), cuts: new Map() };
    const candidates = call.candidates;
    this.totals.queries++;
    try {
      this.budget ??= await PromptBudget.create(this.s.maxPromptTokens, this.s.maxPassageTokens, this.s.encoding);
      let outcome: ScoringOutcome;
      if (this.mode === "listwise") outcome = await this.listwise(candidates, ctx);
      else if (this.mode === "pointwise") outcome = await this.pointwise(candidates, ctx);
      // topN reaches the heap: only the best topN places are sorted (fewer comparisons).
      else outcome = await this.pairwise(candidates, ctx, this.s.topK ?? call.topN ?? candidates.length);
      this.lastUsage = ctx.usage;
      this.onUsage?.(ctx.usage);
      return outcome;
    } finally {
      addUsage(this.totals, ctx.usage);
    }
  }

  // ---- one chat call, with accounting -------------------------------------------------

  private async ask(template: ChatTemplate, values: Record<string, string>, ctx: CallContext, answerTokens: number, topLogprobs?: number): Promise<ChatAnswer> {
    // The yes/no probe reads only the first token, so it never takes the user's cap.
    const maxTokens = topLogprobs === undefined ? (this.s.maxOutputTokens ?? answerTokens) : answerTokens;
    const messages: ChatMessage[] = [];
    if (template.system) messages.push({ role: "system", content: renderTemplate(template.system, values) });
    messages.push({ role: "user", content: renderTemplate(template.user, values) });
    const answer = await this.limiter.run(() =>
      this.chat.complete(messages, { maxTokens, topLogprobs, signal: ctx.signal, onRetry: () => ctx.usage.retries++ }),
    );
    const u = ctx.usage;
    u.calls++;
    u.promptTokens += answer.promptTokens;
    u.completionTokens += answer.completionTokens;
    u.cost += (answer.promptTokens * this.s.pricePer1kPromptTokens + answer.completionTokens * this.s.pricePer1kCompletionTokens) / 1000;
    return answer;
  }

  /** Renders the template once without passages to learn its fixed token cost, then fits passages into what is left. */
  private fitPassages(template: ChatTemplate, values: Record<string, string>, texts: string[], ctx: CallContext): string[] {
    const empty: Record<string, string> = { ...values, passages: "", passage: "", passage_a: "", passage_b: "" };
    const overhead = this.budget!.count(renderTemplate(template.system, empty)) + this.budget!.count(renderTemplate(template.user, empty)) + 4 * texts.length + 8;
    // One line per passage: the numbered-list formats rely on it, and layout whitespace only costs tokens.
    const budget = this.budget!;
    const fitted = budget.fitPassages(texts.map((t) => t.replace(/\s+/g, " ").trim()), overhead, ctx.cuts);
    ctx.usage.truncatedPassages += fitted.truncated;
    return fitted.passages;
  }

  private baseValues(ctx: CallContext, n: number): Record<string, string> {
    return { query: ctx.query, instruction: ctx.instruction, n: String(n) };
  }

  // ---- listwise -------------------------------------------------------------------

  private async listwise(candidates: readonly Candidate[], ctx: CallContext): Promise<ScoringOutcome> {
    const n = candidates.length;
    const texts = candidates.map((c) => documentText(c.document));
    const { order, windows } = await slidingWindowOrder(
      candidates.map((_, i) => i),
      this.s.window,
      this.s.step,
      async (members) => {
        const values = this.baseValues(ctx, members.length);
        const passages = this.fitPassages(this.templates.listwise, values, members.map((m) => texts[m]), ctx);
        // "[12] > " is about 4–5 tokens per id; leave headroom for a short preamble.
        const answer = await this.ask(this.templates.listwise, { ...values, passages: numberedPassages(passages) }, ctx, 6 * members.length + 32);
        const parsed = parsePermutation(answer.content, members.length);
        addRepairs(ctx.usage.repairs, parsed.repairs);
        return parsed.order;
      },
    );
    ctx.usage.windows += windows;
    const scores = new Array<number>(n);
    order.forEach((cand, pos) => (scores[cand] = n - pos));
    return { scores, order };
  }

  // ---- pointwise ------------------------------------------------------------------

  private async pointwise(candidates: readonly Candidate[], ctx: CallContext): Promise<ScoringOutcome> {
    const texts = candidates.map((c) => documentText(c.document));
    const scores = new Array<number>(texts.length).fill(Number.NaN);
    let useLogprobs = this.s.scoring === "logprobs" || (this.s.scoring === "auto" && this.logprobsAvailable !== false);
    if (useLogprobs && this.s.scoring === "auto" && this.logprobsAvailable === undefined) {
      // Probe with the first candidate: the answer tells us whether the endpoint returns log-probabilities.
      let first: number | undefined;
      try {
        first = await this.yesNoScore(texts[0], ctx);
      } catch (err) {
        // Some servers reject the logprobs fields outright (400/422): that too means "not offered".
        const status = err instanceof WinnowError ? err.details.status : undefined;
        if (status !== 400 && status !== 422) throw err;
      }
      this.logprobsAvailable = first !== undefined;
      useLogprobs = this.logprobsAvailable;
      if (first !== undefined) scores[0] = first;
    }
    if (useLogprobs) {
      const todo = texts.map((_, i) => i).filter((i) => Number.isNaN(scores[i]));
      // ask() holds the concurrency limit; start them all.
      await Promise.all(todo.map(async (i) => {
        const s = await this.yesNoScore(texts[i], ctx);
        if (s === undefined) {
          if (this.s.scoring === "logprobs") {
            throw new WinnowError("UPSTREAM_ERROR", `${this.chat.upstream} returned no log-probabilities (scoring: "logprobs"); use scoring "auto" or "json"`, {
              details: { upstream: this.chat.upstream, field: "scoring" },
            });
          }
          ctx.usage.repairs.unparseable++;
        } else scores[i] = s;
      }));
    }
    const remaining = texts.map((_, i) => i).filter((i) => Number.isNaN(scores[i]));
    const batches: number[][] = [];
    for (let b = 0; b < remaining.length; b += this.s.batchSize) batches.push(remaining.slice(b, b + this.s.batchSize));
    // The limiter inside ask() bounds concurrency; batches only need to be started together.
    await Promise.all(
      batches.map(async (batch) => {
        const got = await this.jsonScores(batch.map((i) => texts[i]), ctx);
        batch.forEach((cand, j) => (scores[cand] = got[j]));
      }),
    );
    for (const s of scores) if (Number.isNaN(s)) ctx.usage.repairs.unscored++;
    return { scores, details: (i) => (Number.isNaN(scores[i]) ? { unscored: true } : undefined) };
  }

  /** 10·P(yes | yes or no) from the first answer token's alternatives; undefined when the endpoint gave none. */
  private async yesNoScore(text: string, ctx: CallContext): Promise<number | undefined> {
    const values = this.baseValues(ctx, 1);
    const [passage] = this.fitPassages(this.templates.yesNo, values, [text], ctx);
    const answer = await this.ask(this.templates.yesNo, { ...values, passage }, ctx, 1, 10);
    const first = answer.logprobs?.[0];
    if (!first || first.top.length === 0) return undefined;
    let yes = 0;
    let no = 0;
    for (const alt of first.top) {
      const t = alt.token.trim().toLowerCase();
      if (t === "yes") yes += Math.exp(alt.logprob);
      else if (t === "no") no += Math.exp(alt.logprob);
    }
    if (yes + no === 0) {
      ctx.usage.repairs.unparseable++;
      return /^\s*yes/i.test(answer.content) ? 10 : 0;
    }
    return (10 * yes) / (yes + no);
  }

  /** One batch of 0–10 JSON scores; asks once more when the answer cannot be read, NaN for what stays unscored. */
  private async jsonScores(texts: string[], ctx: CallContext): Promise<number[]> {
    const values = this.baseValues(ctx, texts.length);
    const passages = this.fitPassages(this.templates.pointwise, values, texts, ctx);
    const rendered = { ...values, passages: numberedPassages(passages) };
    let best: number[] = new Array<number>(texts.length).fill(Number.NaN);
    for (let attempt = 0; attempt < 2; attempt++) {
      const answer = await this.ask(this.templates.pointwise, rendered, ctx, 12 * texts.length + 32);
      const got = parseJsonScores(answer.content, texts.length);
      const valid = got.filter((s) => !Number.isNaN(s)).length;
      if (valid > best.filter((s) => !Number.isNaN(s)).length) best = got;
      if (valid === texts.length) return got;
      ctx.usage.repairs.unparseable++;
    }
    return best;
  }

  // ---- pairwise -------------------------------------------------------------------

  private async pairwise(candidates: readonly Candidate[], ctx: CallContext, k: number): Promise<ScoringOutcome> {
    const n = candidates.length;
    const texts = candidates.map((c) => documentText(c.document));
    const comparator = new MemoizedComparator(async (a, b) => {
      const [ab, ba] = await Promise.all([this.prefer(texts[a], texts[b], ctx), this.prefer(texts[b], texts[a], ctx)]);
      // ab: +1 when the first passage shown (a) won; ba: +1 when b (shown first) won.
      const vote = ab - ba;
      if (vote === 0) ctx.usage.ties++;
      return Math.sign(vote);
    });
    const top = await heapTopK(n, Math.min(k, n), (a, b) => comparator.better(a, b));
    ctx.usage.comparisons += comparator.comparisons;
    const scores = new Array<number>(n);
    const placed = new Uint8Array(n);
    top.forEach((cand, pos) => {
      scores[cand] = n - pos;
      placed[cand] = 1;
    });
    // The rest keep their first-stage order below the sorted top-k.
    let next = n - top.length;
    for (let i = 0; i < n; i++) if (!placed[i]) scores[i] = next--;
    return { scores, order: top, details: (i) => (placed[i] ? undefined : { pairwiseSorted: false }) };
  }

  /** +1 when passage A (shown first) is preferred, −1 for B, 0 when the answer names neither. */
  private async prefer(a: string, b: string, ctx: CallContext): Promise<number> {
    const values = this.baseValues(ctx, 2);
    const [pa, pb] = this.fitPassages(this.templates.pairwise, values, [a, b], ctx);
    const answer = await this.ask(this.templates.pairwise, { ...values, passage_a: pa, passage_b: pb }, ctx, 8);
    const verdict = parsePairwiseAnswer(answer.content);
    if (verdict === 0) ctx.usage.repairs.unparseable++;
    return verdict;
  }
}

/**
 * Reads `{"1": 7, "2": 3}` (also `{"scores": {...}}`, `[{"id": 1, "score": 7}]`, a
 * ```json fence or prose around it) into n scores; ids missing or outside 0–10 stay NaN.
 */
export function parseJsonScores(text: string, n: number): number[] {
  const out = new Array<number>(n).fill(Number.NaN);
  const answer = stripReasoning(text ?? "");
  const start = answer.search(/[[{]/);
  if (start < 0) return out;
  const close = answer[start] === "{" ? "}" : "]";
  const end = answer.lastIndexOf(close);
  if (end <= start) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.slice(start, end + 1));
  } catch {
    return out;
  }
  if (parsed && typeof parsed === "object" && !Array.isArray(parsed) && "scores" in parsed) parsed = (parsed as { scores: unknown }).scores;
  const put = (id: unknown, score: unknown) => {
    const i = Number(id);
    const s = typeof score === "string" && score.trim() !== "" ? Number(score) : score;
    if (Number.isInteger(i) && i >= 1 && i <= n && typeof s === "number" && Number.isFinite(s) && s >= 0 && s <= 10 && Number.isNaN(out[i - 1])) out[i - 1] = s;
  };
  if (Array.isArray(parsed)) {
    for (const item of parsed) if (item && typeof item === "object") put((item as { id?: unknown }).id, (item as { score?: unknown }).score);
  } else if (parsed && typeof parsed === "object") {
    for (const [id, score] of Object.entries(parsed)) put(id, score);
  }
  return out;
}

/**
 * "Passage A", "**Passage B**", "B", "Passage B is more relevant than Passage A" …
 * → +1 for A, −1 for B, 0 when the answer does not settle it.
 */
export function parsePairwiseAnswer(text: string): number {
  const answer = stripReasoning(text ?? "").trim();
  const sign = (x: string) => (x.toUpperCase() === "A" ? 1 : -1);
  const leading = /^\W*passage\s*\(?([AB])\)?\b/i.exec(answer) ?? /^\W*\(?([AB])\)?(?:\W|$)/.exec(answer);
  if (leading) return sign(leading[1]);
  const claimed = /passage\s*\(?([AB])\)?\b[^.]*?\bmore relevant/i.exec(answer);
  if (claimed) return sign(claimed[1]);
  const named = new Set([...answer.matchAll(/passage\s*\(?([AB])\)?\b/gi)].map((m) => m[1].toUpperCase()));
  return named.size === 1 ? sign([...named][0]) : 0;
}
