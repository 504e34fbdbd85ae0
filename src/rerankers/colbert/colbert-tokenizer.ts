import type { Tokenizer } from "@huggingface/tokenizers";
import { WinnowError } from "../../core/errors.js";
import { PUNCTUATION, type ColbertSettings } from "./colbert-settings.js";

/** One encoder input row: token ids and which of them attend (1) or are ignored (0). */
export interface ColbertInput {
  ids: Int32Array;
  attention: Uint8Array;
}

/**
 * ColBERT's input recipe. Both reference implementations put the marker right after
 * [CLS]: ColBERT tokenizes ". " + text and overwrites position 1 with the marker
 * (colbert/modeling/tokenization/query_tokenization.py, doc_tokenization.py); fastembed
 * inserts it at index 1 (late_interaction/colbert.py, _preprocess_onnx_input); PyLate
 * inserts its prefix token after the first token (models/colbert.py). So:
 *
 * - query:    [CLS] [Q] q… [SEP] [MASK]… exactly queryMaxLength tokens; the [MASK]s are
 *   query augmentation: their output vectors take part in MaxSim, and with
 *   attendToMaskTokens they are attended to as well;
 * - document: [CLS] [D] d… [SEP], at most docMaxLength tokens, not padded.
 *
 * The punctuation skiplist (ColBERT's `mask_punctuation`: every character of
 * string.punctuation and its first token id) is not applied here: documents go through
 * the encoder whole, and the encoder drops skiplisted tokens' output vectors.
 */
export class ColbertTokenizer {
  readonly queryMarkerId: number;
  readonly documentMarkerId: number;
  readonly maskId: number;
  readonly padId: number;
  readonly skiplist: ReadonlySet<number>;
  private readonly prefix: number[];
  private readonly suffix: number[];

  constructor(
    private readonly tokenizer: Tokenizer,
    readonly settings: ColbertSettings,
    tokenizerFile: string,
    padToken: string | undefined,
    maskToken: string | undefined,
  ) {
    const id = (token: string, what: string): number => {
      const found = tokenizer.token_to_id(token) ?? tokenizer.token_to_id(token.trim());
      if (found === undefined || found === null) {
        throw new WinnowError("MODEL_LOAD_FAILED", `${tokenizerFile}: no token ${JSON.stringify(token)} for the ${what} (from ${settings.file})`, { details: { path: tokenizerFile, token } });
      }
      return found;
    };
    this.queryMarkerId = settings.markerIds?.query ?? id(settings.queryMarker, "query marker");
    this.documentMarkerId = settings.markerIds?.document ?? id(settings.documentMarker, "document marker");
    this.maskId = id(maskToken ?? "[MASK]", "query padding [MASK]");
    this.padId = padToken ? id(padToken, "pad token") : 0;
    // The model's own specials around one sequence ([CLS] … [SEP] for BERT, <s> … </s> for XLM-R).
    const specials = Array.from(tokenizer.encode("", { add_special_tokens: true }).ids as ArrayLike<number>);
    if (specials.length < 2) throw new WinnowError("MODEL_LOAD_FAILED", `${tokenizerFile}: the post-processor adds no [CLS]/[SEP] pair, which ColBERT's marker placement needs`, { details: { path: tokenizerFile } });
    this.prefix = specials.slice(0, 1);
    this.suffix = specials.slice(1);
    const room = Math.min(settings.queryMaxLength, settings.docMaxLength) - this.prefix.length - this.suffix.length - 1;
    if (room < 1) throw new WinnowError("MODEL_LOAD_FAILED", `${settings.file}: query/document lengths leave no room for text after the special tokens`, { details: { path: settings.file } });
    const skip = new Set<number>();
    if (settings.maskPunctuation) {
      for (const word of settings.skiplistWords ?? [...PUNCTUATION]) {
        const direct = tokenizer.token_to_id(word);
        if (direct !== undefined && direct !== null) skip.add(direct);
        const first = (tokenizer.encode(word, { add_special_tokens: false }).ids as ArrayLike<number>)[0];
        if (first !== undefined) skip.add(first);
      }
    }
    this.skiplist = skip;
  }

  /** Token ids of a text, without special tokens. */
  tokenize(text: string): number[] {
    return Array.from(this.tokenizer.encode(text, { add_special_tokens: false }).ids as ArrayLike<number>);
  }

  query(text: string): ColbertInput {
    const length = this.settings.queryMaxLength;
    const body = this.tokenize(text).slice(0, length - this.prefix.length - this.suffix.length - 1);
    const ids = new Int32Array(length).fill(this.maskId);
    const attention = new Uint8Array(length).fill(this.settings.attendToMaskTokens ? 1 : 0);
    const head = [...this.prefix, this.queryMarkerId, ...body, ...this.suffix];
    ids.set(head);
    attention.fill(1, 0, head.length);
    return { ids, attention };
  }

  document(text: string): ColbertInput {
    const body = this.tokenize(text).slice(0, this.settings.docMaxLength - this.prefix.length - this.suffix.length - 1);
    const ids = Int32Array.from([...this.prefix, this.documentMarkerId, ...body, ...this.suffix]);
    return { ids, attention: new Uint8Array(ids.length).fill(1) };
  }
}
