import { Tiktoken } from "js-tiktoken/lite";
import { InvalidInputError } from "../../core/errors.js";

/** Encodings we offer: OpenAI's current ones. For other model families they are a close estimate of the real count. */
export type PromptEncoding = "cl100k_base" | "o200k_base";

const encoders = new Map<PromptEncoding, Promise<Tiktoken>>();

/**
 * Loads one BPE table on first use (each is megabytes of ranks; importing all of
 * js-tiktoken would cost every CLI start seconds), then keeps it for the process.
 */
export function loadEncoder(name: PromptEncoding): Promise<Tiktoken> {
  let enc = encoders.get(name);
  if (!enc) {
    const ranks = name === "o200k_base" ? import("js-tiktoken/ranks/o200k_base") : import("js-tiktoken/ranks/cl100k_base");
    enc = ranks.then((m) => new Tiktoken(m.default));
    encoders.set(name, enc);
  }
  return enc;
}

/**
 * Keeps each LLM call inside a prompt-token budget by cutting passages by tokens
 * (not characters, which over- or under-shoot by 2–4× depending on the script).
 * Every passage in a call gets an equal share of what the template and query leave.
 */
export class PromptBudget {
  constructor(
    private readonly enc: Tiktoken,
    readonly maxPromptTokens: number,
    readonly maxPassageTokens: number,
  ) {}

  static async create(maxPromptTokens: number, maxPassageTokens: number, encoding: PromptEncoding = "cl100k_base"): Promise<PromptBudget> {
    return new PromptBudget(await loadEncoder(encoding), maxPromptTokens, maxPassageTokens);
  }

  // `[], []`: special-token strings in user text (e.g. "<|endoftext|>") are counted as plain text, never rejected.
  count(text: string): number {
    return this.enc.encode(text, [], []).length;
  }

  /** The first `maxTokens` tokens of `text` (whole text when shorter). */
  truncate(text: string, maxTokens: number): { text: string; truncated: boolean } {
    // Every BPE token covers at least one UTF-8 byte, so a text this short cannot be over.
    if (Buffer.byteLength(text, "utf8") <= maxTokens) return { text, truncated: false };
    // Pure-JS BPE runs at a few hundred KB/s: for a long passage, tokenize only a prefix
    // that surely holds maxTokens tokens (English averages ~4 chars/token). Only the
    // last word of the prefix can tokenize differently from the full text, and it lies
    // beyond the tokens we keep whenever the prefix yields more than we need.
    const prefixChars = maxTokens * 12;
    if (text.length > prefixChars) {
      const ids = this.enc.encode(text.slice(0, prefixChars), [], []);
      if (ids.length > maxTokens + 8) return { text: this.enc.decode(ids.slice(0, maxTokens)), truncated: true };
    }
    const ids = this.enc.encode(text, [], []);
    if (ids.length <= maxTokens) return { text, truncated: false };
    return { text: this.enc.decode(ids.slice(0, maxTokens)), truncated: true };
  }

  /**
   * Cuts `passages` so that `overheadTokens` (template + query, already rendered) plus
   * all passages fit the budget. Throws INVALID_INPUT when the fixed part alone leaves
   * no useful room, naming the limit.
   */
  fitPassages(passages: readonly string[], overheadTokens: number, memo?: Map<string, { text: string; truncated: boolean }>): { passages: string[]; truncated: number } {
    const room = this.maxPromptTokens - overheadTokens;
    const perPassage = Math.min(this.maxPassageTokens, Math.floor(room / Math.max(1, passages.length)) - 4);
    if (perPassage < 8) {
      throw new InvalidInputError(
        `the prompt for ${passages.length} passage(s) needs ${overheadTokens} tokens before any passage text; maxPromptTokens is ${this.maxPromptTokens} (raise it, shorten the query, or use a smaller window/batch)`,
        { field: "maxPromptTokens", limit: this.maxPromptTokens, overheadTokens },
      );
    }
    let truncated = 0;
    const out = passages.map((p) => {
      // Pairwise and sliding windows show the same passage many times: cut it once per allowance.
      const key = memo ? `${perPassage}\u0000${p}` : "";
      let t = memo?.get(key);
      if (!t) {
        t = this.truncate(p, perPassage);
        memo?.set(key, t);
      }
      if (t.truncated) truncated++;
      return t.text;
    });
    return { passages: out, truncated };
  }
}
