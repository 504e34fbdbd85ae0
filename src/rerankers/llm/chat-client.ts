import { JsonHttpClient, type RetryEvent } from "../http/json-client.js";
import type { RetryPolicy } from "../http/retry-policy.js";
import { bodyExcerpt, malformedResponseError } from "../http/upstream-error.js";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** The alternatives the endpoint considered for one generated token. */
export interface TokenAlternatives {
  token: string;
  top: Array<{ token: string; logprob: number }>;
}

export interface ChatAnswer {
  content: string;
  /** Per generated token, when the request asked for log-probabilities and the endpoint returned them. */
  logprobs?: TokenAlternatives[];
  promptTokens: number;
  completionTokens: number;
  /** HTTP attempts, retries included. */
  attempts: number;
}

export interface ChatClientOptions {
  baseUrl: string;
  model: string;
  apiKey?: string;
  timeoutMs: number;
  retry: Partial<RetryPolicy>;
  temperature: number;
  /** Sent as `seed` for reproducible sampling where the server supports it; null omits it. */
  seed: number | null;
  random?: () => number;
}

export interface CompleteOptions {
  maxTokens: number;
  /** Ask for `top_logprobs` alternatives per token. */
  topLogprobs?: number;
  signal?: AbortSignal;
  onRetry?: (e: RetryEvent) => void;
}

/**
 * A minimal client for POST {baseUrl}/chat/completions, the one endpoint OpenAI,
 * vLLM, llama.cpp's server and Ollama all speak. Non-streaming; deterministic
 * settings (temperature 0, fixed seed) by default.
 */
export class ChatClient {
  private readonly http: JsonHttpClient;
  private readonly url: string;
  readonly upstream: string;

  constructor(private readonly options: ChatClientOptions) {
    const base = options.baseUrl.replace(/\/+$/, "");
    this.url = `${base}/chat/completions`;
    this.upstream = `llm(${base})`;
    this.http = new JsonHttpClient({
      upstream: this.upstream,
      timeoutMs: options.timeoutMs,
      retry: options.retry,
      headers: options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {},
      secrets: options.apiKey ? [options.apiKey] : [],
      random: options.random,
    });
  }

  async complete(messages: ChatMessage[], opts: CompleteOptions): Promise<ChatAnswer> {
    const body: Record<string, unknown> = {
      model: this.options.model,
      messages,
      temperature: this.options.temperature,
      max_tokens: opts.maxTokens,
      stream: false,
    };
    if (this.options.seed !== null) body.seed = this.options.seed;
    if (opts.topLogprobs !== undefined) {
      body.logprobs = true;
      body.top_logprobs = opts.topLogprobs;
    }
    const res = await this.http.postJson(this.url, body, { signal: opts.signal, onRetry: opts.onRetry });
    return this.parse(res.body, res.text, res.attempts);
  }

  private parse(body: unknown, text: string, attempts: number): ChatAnswer {
    const bad = (problem: string) => malformedResponseError(this.upstream, problem, bodyExcerpt(text, this.options.apiKey ? [this.options.apiKey] : []));
    const b = body as { choices?: unknown; usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } } | null;
    if (!b || typeof b !== "object" || !Array.isArray(b.choices) || b.choices.length === 0) throw bad("expected a non-empty `choices` array");
    const choice = b.choices[0] as { message?: { content?: unknown }; logprobs?: { content?: unknown } | null } | null;
    const content = choice?.message?.content;
    if (!choice || typeof choice.message !== "object" || choice.message === null || (content !== null && content !== undefined && typeof content !== "string")) {
      throw bad("expected `choices[0].message.content` to be a string");
    }
    let logprobs: TokenAlternatives[] | undefined;
    const lp = choice.logprobs?.content;
    if (Array.isArray(lp)) {
      logprobs = lp
        .filter((t): t is { token: string; logprob: number; top_logprobs?: unknown } => typeof t?.token === "string")
        .map((t) => ({
          token: t.token,
          top: (Array.isArray(t.top_logprobs) ? t.top_logprobs : [{ token: t.token, logprob: t.logprob }])
            .filter((a: { token?: unknown; logprob?: unknown }) => typeof a?.token === "string" && typeof a?.logprob === "number")
            .map((a: { token: string; logprob: number }) => ({ token: a.token, logprob: a.logprob })),
        }));
    }
    const num = (x: unknown) => (typeof x === "number" && Number.isFinite(x) ? x : 0);
    return {
      content: typeof content === "string" ? content : "",
      logprobs,
      promptTokens: num(b.usage?.prompt_tokens),
      completionTokens: num(b.usage?.completion_tokens),
      attempts,
    };
  }
}
