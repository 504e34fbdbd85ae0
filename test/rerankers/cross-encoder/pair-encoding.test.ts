import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureGeneratedModel } from "../../../src/onnx/generate.js";
import { PairEncoder } from "../../../src/rerankers/cross-encoder/pair-encoder.js";
import { pairTemplateFromTokenizerJson, specialTokenCount } from "../../../src/rerankers/cross-encoder/pair-template.js";
import { planBatches } from "../../../src/rerankers/cross-encoder/batch-plan.js";

describe("pairTemplateFromTokenizerJson", () => {
  it("reads BERT, RoBERTa and TemplateProcessing layouts", () => {
    const bert = pairTemplateFromTokenizerJson({ post_processor: { type: "BertProcessing", sep: ["[SEP]", 102], cls: ["[CLS]", 101] } as never });
    expect(bert).toMatchObject({ prefix: [101], middle: [102], suffix: [102], typeA: 0, typeB: 1 });
    const roberta = pairTemplateFromTokenizerJson({ post_processor: { type: "RobertaProcessing", sep: ["</s>", 2], cls: ["<s>", 0] } as never });
    expect(roberta).toMatchObject({ prefix: [0], middle: [2, 2], suffix: [2], typeB: 0 });
    expect(specialTokenCount(roberta)).toBe(4);
    const template = pairTemplateFromTokenizerJson({
      post_processor: {
        type: "Sequence",
        processors: [
          { type: "ByteLevel" },
          {
            type: "TemplateProcessing",
            pair: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "[SEP]", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }, { SpecialToken: { id: "[SEP]", type_id: 1 } }],
            special_tokens: { "[CLS]": { ids: [1] }, "[SEP]": { ids: [2] } },
          },
        ],
      } as never,
    });
    expect(template).toMatchObject({ prefix: [1], middle: [2], middleTypes: [0], suffix: [2], suffixTypes: [1], typeB: 1 });
    expect(specialTokenCount(pairTemplateFromTokenizerJson({ post_processor: null }))).toBe(0);
  });
});

describe("PairEncoder (tiny-bert tokenizer)", () => {
  let tokenizer: Tokenizer;
  let json: { post_processor?: null };
  beforeAll(async () => {
    const dir = await ensureGeneratedModel("tiny-bert");
    json = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8"));
    tokenizer = new Tokenizer(json, JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8")));
  });

  it("lays out a short pair exactly as the tokenizer's own pair encoding", () => {
    const enc = new PairEncoder(tokenizer, pairTemplateFromTokenizerJson(json), 512);
    const { units } = enc.encode("what is a cat", ["A cat is a small mammal."]);
    const ref = tokenizer.encode("what is a cat", { text_pair: "A cat is a small mammal.", return_token_type_ids: true });
    expect(Array.from(units[0].ids)).toEqual(ref.ids);
    expect(Array.from(units[0].typeIds)).toEqual(ref.token_type_ids);
  });

  it("caps the query and truncates only the document", () => {
    const enc = new PairEncoder(tokenizer, pairTemplateFromTokenizerJson(json), 40, 8);
    const longQuery = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda";
    const q = enc.encodeQuery(longQuery);
    expect(q).toHaveLength(8);
    const { units } = enc.encode(longQuery, ["short doc"], { truncate: true });
    const docIds = tokenizer.encode("short doc", { add_special_tokens: false }).ids;
    // [CLS] q(8) [SEP] doc [SEP]: the whole short document survives.
    expect(Array.from(units[0].ids.slice(10, 10 + docIds.length))).toEqual(docIds);
    expect(units[0].tokens).toBe(3 + 8 + docIds.length);
  });

  it("windows a long document with the requested overlap, capped in count, last window ending at the end", () => {
    const enc = new PairEncoder(tokenizer, pairTemplateFromTokenizerJson(json), 32, 4);
    const doc = Array.from({ length: 80 }, (_, i) => `w${i}`).join(" ");
    const docIds = tokenizer.encode(doc, { add_special_tokens: false }).ids;
    const q = enc.encodeQuery("cats");
    const budget = 32 - 3 - q.length;
    const all = enc.encode("cats", [doc], { maxChunksPerDoc: 100, windowOverlap: 4 });
    const docPart = (ids: Int32Array) => Array.from(ids.slice(2 + q.length, ids.length - 1));
    const windows = all.units.map((u) => docPart(u.ids));
    expect(windows.every((w) => w.length === budget)).toBe(true);
    expect(windows[1].slice(0, 4)).toEqual(windows[0].slice(-4));
    expect(windows.at(-1)!.at(-1)).toBe(docIds.at(-1));
    // Every document token is in some window.
    expect(new Set(windows.flat()).size).toBe(new Set(docIds).size);
    expect(Array.from(all.owner).every((o) => o === 0)).toBe(true);
    const capped = enc.encode("cats", [doc, "tiny"], { maxChunksPerDoc: 2, windowOverlap: 4 });
    expect(Array.from(capped.owner)).toEqual([0, 0, 1]);
    expect(() => enc.encode("cats", [doc], { windowOverlap: budget })).toThrow(expect.objectContaining({ code: "CONFIG_INVALID", details: expect.objectContaining({ field: "windowOverlap" }) }));
  });
});

describe("planBatches", () => {
  it("keeps every batch's padded size within the token budget and covers each unit once", () => {
    const lengths = [10, 200, 35, 35, 90, 12, 300, 64, 64, 64, 5];
    const batches = planBatches(lengths, 256);
    expect(batches.flat().sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
    for (const b of batches) {
      const longest = Math.max(...b.map((i) => lengths[i]));
      // A unit longer than the budget runs alone; otherwise rows × longest fits.
      expect(b.length === 1 || b.length * longest <= 256).toBe(true);
    }
    // Sorted by length: padding stays small.
    expect(batches[0]).toEqual([6]);
    expect(planBatches(lengths, 10_000, 4).every((b) => b.length <= 4)).toBe(true);
    expect(planBatches([], 100)).toEqual([]);
  });
});
