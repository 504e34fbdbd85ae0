import type { Tokenizer } from "@huggingface/tokenizers";
import { WinnowError, throwIfAborted } from "../../core/errors.js";
import type { PrepareOptions } from "../../core/batch-scorer.js";
import type { PairUnit } from "../cross-encoder/pair-encoder.js";
import type { DecoderTemplate } from "./decoder-template.js";

export interface EncodedPrompts {
  units: PairUnit[];
  owner: Int32Array;
  tokens: number;
}

export const DEFAULT_DECODER_MAX_QUERY_TOKENS = 128;

/**
 * Encodes (instruction, query, document) as the template's prompt: prefix, head and
 * suffix tokenized as the model cards do (each on its own), the document as
 * `lead + document`. The head ends at a pre-tokenizer boundary (": " before the
 * document), so the ids equal the card's; a test checks this token by token. A document
 * longer than the budget is split into overlapping windows (each its own unit, best kept).
 */
export class DecoderPromptEncoder {
  private readonly prefix: number[];
  private readonly suffix: number[];

  constructor(
    private readonly tokenizer: Tokenizer,
    readonly template: DecoderTemplate,
    readonly maxLength: number,
    readonly maxQueryTokens = DEFAULT_DECODER_MAX_QUERY_TOKENS,
  ) {
    this.prefix = this.tokenize(template.prefix);
    this.suffix = this.tokenize(template.suffix);
    if (maxLength - this.prefix.length - this.suffix.length < 32) {
      throw new WinnowError("CONFIG_INVALID", `maxLength ${maxLength} leaves under 32 tokens for the query and document after the ${template.name} prompt (${this.prefix.length + this.suffix.length} tokens)`, {
        details: { field: "maxLength" },
      });
    }
  }

  tokenize(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** Head ids; a query over maxQueryTokens is cut to that many tokens (decoded back to text) first. */
  private head(instruction: string | undefined, query: string): number[] {
    const q = this.tokenize(query);
    const cap = Math.min(this.maxQueryTokens, Math.floor((this.maxLength - this.prefix.length - this.suffix.length) / 2));
    const text = q.length > cap ? this.tokenizer.decode(q.slice(0, cap), { skip_special_tokens: false }) : query;
    const ids = this.tokenize(this.template.head(instruction, text));
    const room = this.maxLength - this.prefix.length - this.suffix.length - 8;
    if (ids.length > room) {
      throw new WinnowError("INVALID_INPUT", `instruction: the prompt head is ${ids.length} tokens, over the ${room} that maxLength ${this.maxLength} leaves for it`, { details: { field: "instruction", max: room } });
    }
    return ids;
  }

  encode(instruction: string | undefined, query: string, texts: readonly string[], options: PrepareOptions & { windowOverlap?: number } = {}): EncodedPrompts {
    const head = this.head(instruction, query);
    const budget = this.maxLength - this.prefix.length - this.suffix.length - head.length;
    const maxChunks = options.truncate ? 1 : (options.maxChunksPerDoc ?? 4);
    const overlap = options.windowOverlap ?? Math.min(32, Math.floor(budget / 4));
    const stride = Math.max(1, budget - overlap);
    const left = options.truncationDirection === "left";
    const units: PairUnit[] = [];
    const owners: number[] = [];
    let tokens = 0;
    for (let i = 0; i < texts.length; i++) {
      if ((i & 15) === 0) throwIfAborted(options.signal);
      let d = this.tokenize(this.template.lead + texts[i]);
      const cap = options.maxTokensPerDoc;
      if (cap !== undefined && d.length > cap) d = left ? d.slice(d.length - cap) : d.slice(0, cap);
      const starts = [0];
      if (d.length > budget && maxChunks > 1) {
        for (let s = stride; starts.length < maxChunks && s + overlap < d.length; s += stride) starts.push(Math.min(s, d.length - budget));
      }
      for (const s of starts) {
        const [from, to] = left ? [Math.max(0, d.length - s - budget), d.length - s] : [s, Math.min(d.length, s + budget)];
        const n = this.prefix.length + head.length + (to - from) + this.suffix.length;
        const ids = new Int32Array(n);
        ids.set(this.prefix, 0);
        ids.set(head, this.prefix.length);
        ids.set(d.slice(from, to), this.prefix.length + head.length);
        ids.set(this.suffix, n - this.suffix.length);
        units.push({ ids, typeIds: new Uint8Array(n), tokens: n });
        owners.push(i);
        tokens += n;
      }
    }
    return { units, owner: Int32Array.from(owners), tokens };
  }
}
