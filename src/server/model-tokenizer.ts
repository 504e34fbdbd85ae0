import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { WinnowError } from "../core/errors.js";
import type { RerankerSpec } from "../core/reranker-spec.js";
import { resolveModelSource } from "../models/model-source.js";

/** One token as TEI's POST /tokenize answers it. Offsets are null: the tokenizer library used here does not report them. */
export interface TokenInfo {
  id: number;
  text: string;
  special: boolean;
  start: null;
  stop: null;
}

/**
 * A served cross-encoder's tokenizer and input length, read on the HTTP thread from the
 * same model files the worker loaded (the model itself stays in its worker), for TEI's
 * /tokenize and /info. Only families whose spec names a Hugging Face model folder or hub
 * id have one.
 */
export class ModelTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly specialIds: ReadonlySet<number>,
    /** The longest sequence the model reads (spec maxLength, else the architecture's limit). */
    readonly maxInputLength: number | undefined,
  ) {}

  static async load(spec: RerankerSpec): Promise<ModelTokenizer> {
    if (typeof spec.model !== "string") throw new WinnowError("INVALID_INPUT", `model type "${spec.type}" has no tokenizer`, { details: { field: "model" } });
    const source = await resolveModelSource(spec.model, { required: ["config.json", "tokenizer.json"], optional: ["tokenizer_config.json"] }, {
      offline: spec.offline === true ? true : undefined,
      revision: typeof spec.revision === "string" ? spec.revision : undefined,
    });
    const read = (file: string) => JSON.parse(readFileSync(join(source.dir, file), "utf8")) as Record<string, unknown>;
    const tokenizerJson = read("tokenizer.json") as { added_tokens?: Array<{ id: number; special?: boolean }> };
    let tokenizerConfig: { model_max_length?: number } = {};
    try {
      tokenizerConfig = read("tokenizer_config.json");
    } catch {
      // optional file
    }
    const config = read("config.json") as { max_position_embeddings?: number; model_type?: string; pad_token_id?: number };
    let limit = Infinity;
    if (typeof config.max_position_embeddings === "number") {
      // RoBERTa-style position tables reserve padding_idx + 1 slots.
      const roberta = ["roberta", "xlm-roberta", "camembert"].includes(config.model_type ?? "");
      limit = roberta ? config.max_position_embeddings - ((config.pad_token_id ?? 1) + 1) : config.max_position_embeddings;
    }
    const tml = tokenizerConfig.model_max_length;
    if (typeof tml === "number" && tml > 0 && tml < 1e6) limit = Math.min(limit, tml);
    if (typeof spec.maxLength === "number") limit = Math.min(limit, spec.maxLength);
    const specialIds = new Set((tokenizerJson.added_tokens ?? []).filter((t) => t.special).map((t) => t.id));
    return new ModelTokenizer(new Tokenizer(tokenizerJson as never, tokenizerConfig as never), specialIds, Number.isFinite(limit) ? limit : undefined);
  }

  tokenize(text: string, addSpecialTokens: boolean): TokenInfo[] {
    const e: { ids: number[]; tokens: string[] } = this.tokenizer.encode(text, { add_special_tokens: addSpecialTokens });
    return e.ids.map((id: number, i: number) => ({ id, text: e.tokens[i], special: this.specialIds.has(id), start: null, stop: null }));
  }
}
