import { fakeRelevance, startHarness, type Behaviour, type HarnessServer, type JsonAnswer, type RecordedRequest } from "./http-harness.js";

/**
 * A stand-in for an OpenAI-compatible chat endpoint (POST /v1/chat/completions) whose
 * "model" reads the reranker's default prompts and answers from word overlap
 * (fakeRelevance). Styles let a test make it misbehave the ways real models do:
 * prose, hallucinated or duplicate ids, empty answers, unparseable JSON, position bias.
 * Request validation follows OpenAI's: a bad field gets a 400 invalid_request_error.
 */
export interface FakeChatOptions {
  apiKey?: string;
  script?: Behaviour[];
  /** Return token log-probabilities when asked (llama.cpp/vLLM/OpenAI do; some servers don't). */
  logprobs?: boolean;
  /** Answer 400 to any request carrying `logprobs` (as some servers do). */
  rejectLogprobs?: boolean;
  /** Listwise answer from the correct ranking (1-based ids, best first). */
  listwise?: (ranked: number[], n: number, call: number) => string;
  /** Pointwise answer from the correct 0–10 scores. */
  pointwise?: (scores: number[], call: number) => string;
  /** Pairwise answer from which passage really is better ("A", "B" or "tie"). */
  pairwise?: (better: "A" | "B" | "tie", call: number) => string;
}

export interface FakeChatServer extends HarnessServer {
  /** Requests by the kind of prompt the fake recognised. */
  kinds: string[];
}

const openAiError = (status: number, message: string, param: string | null): JsonAnswer => ({
  status,
  body: { error: { message, type: "invalid_request_error", param, code: null } },
});

function validate(body: unknown): JsonAnswer | undefined {
  if (!body || typeof body !== "object" || Array.isArray(body)) return openAiError(400, "We could not parse the JSON body of your request.", null);
  const b = body as Record<string, unknown>;
  if (typeof b.model !== "string") return openAiError(400, "you must provide a model parameter", "model");
  if (!Array.isArray(b.messages) || b.messages.length === 0) return openAiError(400, "'messages' must be a non-empty array", "messages");
  for (const [i, m] of (b.messages as unknown[]).entries()) {
    const msg = m as { role?: unknown; content?: unknown };
    if (!["system", "user", "assistant"].includes(String(msg?.role))) return openAiError(400, `Invalid value for 'messages[${i}].role'`, `messages[${i}].role`);
    if (typeof msg.content !== "string") return openAiError(400, `Invalid type for 'messages[${i}].content'`, `messages[${i}].content`);
  }
  if (b.temperature !== undefined && (typeof b.temperature !== "number" || b.temperature < 0 || b.temperature > 2)) return openAiError(400, "Invalid 'temperature'", "temperature");
  if (b.max_tokens !== undefined && (!Number.isInteger(b.max_tokens) || (b.max_tokens as number) < 1)) return openAiError(400, "Invalid 'max_tokens'", "max_tokens");
  if (b.seed !== undefined && !Number.isInteger(b.seed)) return openAiError(400, "Invalid 'seed'", "seed");
  if (b.logprobs !== undefined && typeof b.logprobs !== "boolean") return openAiError(400, "Invalid 'logprobs'", "logprobs");
  if (b.top_logprobs !== undefined) {
    if (b.logprobs !== true) return openAiError(400, "'top_logprobs' requires 'logprobs' to be true", "top_logprobs");
    if (!Number.isInteger(b.top_logprobs) || (b.top_logprobs as number) < 0 || (b.top_logprobs as number) > 20) return openAiError(400, "Invalid 'top_logprobs'", "top_logprobs");
  }
  return undefined;
}

const words = (s: string) => s.split(/\s+/).filter(Boolean).length;

export async function startFakeChat(options: FakeChatOptions = {}): Promise<FakeChatServer> {
  const kinds: string[] = [];
  let calls = 0;
  const answer = (req: RecordedRequest): JsonAnswer => {
    if (req.method !== "POST" || req.path !== "/v1/chat/completions") return { status: 404, body: { error: { message: `Unknown request URL: ${req.method} ${req.path}`, type: "invalid_request_error" } } };
    if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return { status: 401, body: { error: { message: "Incorrect API key provided.", type: "invalid_request_error", code: "invalid_api_key" } } };
    }
    const invalid = validate(req.body);
    if (invalid) return invalid;
    if (options.rejectLogprobs && (req.body as { logprobs?: unknown }).logprobs !== undefined) return openAiError(400, "logprobs is not supported", "logprobs");
    const b = req.body as { model: string; messages: Array<{ role: string; content: string }>; logprobs?: boolean };
    const prompt = b.messages[b.messages.length - 1].content;
    const call = calls++;
    let content: string;
    let logprobs: unknown = null;
    const pa = /^Passage A: (.*)$/m.exec(prompt);
    const pb = /^Passage B: (.*)$/m.exec(prompt);
    const single = /^Passage: (.*)$/m.exec(prompt);
    if (pa && pb) {
      kinds.push("pairwise");
      const query = /search query "(.*)"/.exec(prompt)?.[1] ?? "";
      const ra = fakeRelevance(query, pa[1]);
      const rb = fakeRelevance(query, pb[1]);
      const better = ra > rb ? "A" : rb > ra ? "B" : "tie";
      // A real model facing a tie tends to pick the first passage: position bias.
      content = options.pairwise ? options.pairwise(better, call) : `Passage ${better === "B" ? "B" : "A"}`;
    } else if (single) {
      kinds.push("yesno");
      const query = /^Search Query: (.*)$/m.exec(prompt)?.[1] ?? "";
      const p = 0.05 + 0.9 * fakeRelevance(query, single[1]);
      content = p >= 0.5 ? "yes" : "no";
      if (b.logprobs && options.logprobs) {
        const top = [
          { token: "yes", logprob: Math.log(p), bytes: null },
          { token: "no", logprob: Math.log(1 - p), bytes: null },
        ].sort((x, y) => y.logprob - x.logprob);
        logprobs = { content: [{ token: content, logprob: top[0].logprob, bytes: null, top_logprobs: top }] };
      }
    } else {
      const query = /^Search Query: (.*)$/m.exec(prompt)?.[1] ?? "";
      const passages = [...prompt.matchAll(/^\[(\d+)\] (.*)$/gm)].map((m) => ({ id: Number(m[1]), text: m[2] }));
      if (/JSON object/.test(prompt)) {
        kinds.push("pointwise");
        const scores = passages.map((p) => Math.round(10 * fakeRelevance(query, p.text)));
        content = options.pointwise ? options.pointwise(scores, call) : JSON.stringify(Object.fromEntries(scores.map((s, i) => [String(i + 1), s])));
      } else {
        kinds.push("listwise");
        const ranked = passages
          .map((p) => ({ id: p.id, s: fakeRelevance(query, p.text) }))
          .sort((x, y) => y.s - x.s || x.id - y.id)
          .map((x) => x.id);
        content = options.listwise ? options.listwise(ranked, passages.length, call) : ranked.map((id) => `[${id}]`).join(" > ");
      }
    }
    const promptTokens = b.messages.reduce((n, m) => n + words(m.content), 0);
    return {
      status: 200,
      body: {
        id: `chatcmpl-fake-${call}`,
        object: "chat.completion",
        created: 0,
        model: b.model,
        choices: [{ index: 0, message: { role: "assistant", content }, logprobs, finish_reason: "stop" }],
        usage: { prompt_tokens: promptTokens, completion_tokens: words(content), total_tokens: promptTokens + words(content) },
      },
    };
  };
  const server = await startHarness(answer, options.script);
  return Object.assign(server, { kinds });
}
