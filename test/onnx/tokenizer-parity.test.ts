import { describe, expect, it, beforeAll } from "vitest";
import { Tokenizer } from "@huggingface/tokenizers";
import { bertBaseUncasedVocab, bertUncasedTokenizerFiles } from "../../src/onnx/tokenizer-files.js";
import { referenceBertTokenize } from "./reference-wordpiece.js";

const tricky = [
  "Héllo Wörld! Ça va? naïve façade, Ångström, Øresund",
  "北京大学 and 東京 mixed with English",
  "emoji 🙂👍🏽 and symbols ™ © ° ± ≤",
  "punctuation runs!!!??? ...--- (((nested))) \"quotes\" 'single' a/b\\c",
  "x".repeat(2000),
  "supercalifragilisticexpialidocious antidisestablishmentarianism",
  "",
  "   \t\n  ",
  "tabs\tand\nnewlines\r\nand\u00a0non-breaking\u2003spaces",
  "zero\u200bwidth and control\u0007chars and \ufffd replacement",
  "numbers 3.14159 1,000,000 2nd 10^-9 e=mc²",
  "COVID-19 SARS-CoV-2 IL-6 TNF-α p53 BRCA1/2",
  "don't won't it's o'clock",
];

describe("generated bert-base-uncased tokenizer.json vs an independent BertTokenizer", () => {
  let tok: Tokenizer;
  let vocab: Set<string>;
  beforeAll(() => {
    const files = bertUncasedTokenizerFiles(512);
    tok = new Tokenizer(files["tokenizer.json"] as object, files["tokenizer_config.json"] as object);
    vocab = new Set(bertBaseUncasedVocab());
  });

  for (const text of tricky) {
    it(`agrees on ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)}`, () => {
      const expected = referenceBertTokenize(text, vocab);
      expect(tok.encode(text, { add_special_tokens: false }).tokens).toEqual(expected);
    });
  }

  it("matches hand-written bert-base-uncased expectations", () => {
    const t = (s: string) => tok.encode(s, { add_special_tokens: false }).tokens;
    expect(t("Héllo")).toEqual(["hello"]);
    expect(t("x".repeat(2000))).toEqual(["[UNK]"]); // over max_input_chars_per_word (100)
    expect(t("x".repeat(100))).not.toEqual(["[UNK]"]);
    expect(t("北京")).toEqual(["北", "京"]);
    expect(t("wow!!!")).toEqual(["wow", "!", "!", "!"]);
    expect(t("")).toEqual([]);
    expect(t(" \t\n ")).toEqual([]);
    expect(t("🙂")).toEqual(["[UNK]"]);
    const pair = tok.encode("query", { text_pair: "   ", return_token_type_ids: true });
    expect(pair.tokens).toEqual(["[CLS]", "query", "[SEP]", "[SEP]"]); // whitespace-only document
    expect(pair.token_type_ids).toEqual([0, 0, 0, 1]);
  });
});
