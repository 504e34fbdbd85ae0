import { WinnowError } from "../../core/errors.js";

/**
 * How a model lays out a (query, document) pair, read from tokenizer.json's
 * post-processor: `[CLS] q [SEP] d [SEP]` with segment ids 0/1 for BERT,
 * `<s> q </s></s> d </s>` for (XLM-)RoBERTa, whatever a TemplateProcessing says
 * for others. Knowing the layout lets the encoder tokenize query and document
 * separately and truncate or window only the document, as the model was trained.
 */
export interface PairTemplate {
  prefix: number[];
  prefixTypes: number[];
  middle: number[];
  middleTypes: number[];
  suffix: number[];
  suffixTypes: number[];
  typeA: number;
  typeB: number;
}

/** Special tokens a pair adds around the two texts. */
export function specialTokenCount(t: PairTemplate): number {
  return t.prefix.length + t.middle.length + t.suffix.length;
}

type TemplatePiece = { SpecialToken: { id: string; type_id: number } } | { Sequence: { id: "A" | "B"; type_id: number } };

interface PostProcessorJson {
  type?: string;
  processors?: PostProcessorJson[];
  pair?: TemplatePiece[];
  special_tokens?: Record<string, { ids: number[] }>;
  sep?: [string, number];
  cls?: [string, number];
}

function fromTemplate(pp: PostProcessorJson, where: string): PairTemplate {
  const t: PairTemplate = { prefix: [], prefixTypes: [], middle: [], middleTypes: [], suffix: [], suffixTypes: [], typeA: 0, typeB: 0 };
  let stage: "prefix" | "middle" | "suffix" = "prefix";
  for (const piece of pp.pair ?? []) {
    if ("Sequence" in piece) {
      if (piece.Sequence.id === "A") {
        t.typeA = piece.Sequence.type_id;
        stage = "middle";
      } else {
        t.typeB = piece.Sequence.type_id;
        stage = "suffix";
      }
      continue;
    }
    const special = pp.special_tokens?.[piece.SpecialToken.id];
    if (!special) throw new WinnowError("MODEL_LOAD_FAILED", `${where}: TemplateProcessing names unknown special token ${piece.SpecialToken.id}`, { details: { file: where } });
    for (const id of special.ids) {
      t[stage].push(id);
      t[`${stage}Types`].push(piece.SpecialToken.type_id);
    }
  }
  if (stage !== "suffix") throw new WinnowError("MODEL_LOAD_FAILED", `${where}: TemplateProcessing has no pair template with $A and $B`, { details: { file: where } });
  return t;
}

/** Reads the pair layout from a parsed tokenizer.json. */
export function pairTemplateFromTokenizerJson(tokenizerJson: { post_processor?: PostProcessorJson | null }, where = "tokenizer.json"): PairTemplate {
  const find = (pp: PostProcessorJson | null | undefined): PostProcessorJson | undefined => {
    if (!pp) return undefined;
    if (pp.type === "Sequence") return (pp.processors ?? []).map(find).find((x) => x !== undefined);
    return ["TemplateProcessing", "BertProcessing", "RobertaProcessing"].includes(pp.type ?? "") ? pp : undefined;
  };
  const pp = find(tokenizerJson.post_processor);
  if (!pp) {
    // No special tokens at all: the texts are simply concatenated.
    return { prefix: [], prefixTypes: [], middle: [], middleTypes: [], suffix: [], suffixTypes: [], typeA: 0, typeB: 0 };
  }
  if (pp.type === "TemplateProcessing") return fromTemplate(pp, where);
  if (!pp.cls || !pp.sep) throw new WinnowError("MODEL_LOAD_FAILED", `${where}: ${pp.type} without cls/sep`, { details: { file: where } });
  const cls = pp.cls[1];
  const sep = pp.sep[1];
  if (pp.type === "BertProcessing") {
    return { prefix: [cls], prefixTypes: [0], middle: [sep], middleTypes: [0], suffix: [sep], suffixTypes: [1], typeA: 0, typeB: 1 };
  }
  // RobertaProcessing: <s> A </s></s> B </s>, one segment id throughout.
  return { prefix: [cls], prefixTypes: [0], middle: [sep, sep], middleTypes: [0, 0], suffix: [sep], suffixTypes: [0], typeA: 0, typeB: 0 };
}
