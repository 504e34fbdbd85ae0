import { describe, expect, it } from "vitest";
import { Tokenizer } from "@huggingface/tokenizers";
import { xlmrStyleTokenizerFiles } from "../../src/onnx/tokenizer-files.js";
import { referenceUnigramTokenize } from "./reference-unigram.js";

const multilingual = [
  "Scurvy results from a lack of vitamin C (ascorbic acid) in the diet.",
  "北京大学的研究人员 東京",
  "مرحبا بالعالم، هذه جملة عربية",
  "emoji 🙂👍🏽 and symbols ™ © ° ±",
  "combining: e\u0301 a\u0308 n\u0303 vs é ä ñ",
  "ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ and ﬁ ligatures ①②",
  "Ünïcödé ÇA VA? Ångström   many    spaces",
  "numbers 3.14159 1,000,000 COVID-19 TNF-α",
  "x".repeat(200),
];

describe("the XLM-R-style Unigram tokenizer.json vs an independent Unigram (Viterbi)", () => {
  const files = xlmrStyleTokenizerFiles(512);
  const tok = new Tokenizer(files["tokenizer.json"] as object, files["tokenizer_config.json"] as object);
  const model = (files["tokenizer.json"] as { model: { vocab: Array<[string, number]>; unk_id: number } }).model;
  const ids = new Map(model.vocab.map(([piece], id) => [piece, id]));
  it("the multilingual cases include unknown characters (so fusing them is tested)", () => {
    expect(tok.encode("研究 🙂👍🏽", { add_special_tokens: false }).ids).toContain(model.unk_id);
  });
  for (const text of multilingual) {
    it(`agrees on ${JSON.stringify(text.length > 30 ? `${text.slice(0, 30)}…` : text)}`, () => {
      // Ids, not token strings: the library reports an unknown piece by its text, the reference as <unk>.
      const expected = referenceUnigramTokenize(text, { vocab: model.vocab, unkId: model.unk_id }).map((t) => ids.get(t)!);
      expect(tok.encode(text, { add_special_tokens: false }).ids).toEqual(expected);
    });
  }
});
