import { describe, expect, it } from "vitest";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { ensureGeneratedModel } from "../../../src/onnx/generate.js";
import { DecoderReranker } from "../../../src/rerankers/decoder/decoder-reranker.js";
import { CrossEncoderReranker } from "../../../src/rerankers/cross-encoder/cross-encoder-reranker.js";
import { createReranker } from "../../../src/rerankers/registry.js";
import { WinnowError } from "../../../src/core/errors.js";

// The prompts exactly as the model cards write them (copied here, not imported from the template module).
const QWEN3_PREFIX =
  '<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n';
const QWEN3_SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";
const QWEN3_DEFAULT = "Given a web search query, retrieve relevant passages that answer the query";
const formatInstruction = (instruction: string | undefined, query: string, doc: string) => `<Instruct>: ${instruction ?? QWEN3_DEFAULT}\n<Query>: ${query}\n<Document>: ${doc}`;

const cases: Array<[string | undefined, string, string]> = [
  [undefined, "what causes scurvy?", "Scurvy results from a lack of vitamin C."],
  ["Find passages in Chinese", "维生素C缺乏?", "北京大学 🙂 (1747) — Lind's trial."],
  ["Judge strictly!", "q.", ":leading colon and trailing punctuation!!"],
  ["x", "numbers 3.14", "42 is a number\nwith a newline"],
];

function copyModel(dir: string): string {
  const out = mkdtempSync(join(tmpdir(), "winnow-decoder-"));
  cpSync(dir, out, { recursive: true });
  return out;
}

describe("Qwen3-Reranker prompt, token by token", () => {
  it("equals the model card's tokenization: prefix, format_instruction(...), suffix each tokenized on its own", async () => {
    const dir = await ensureGeneratedModel("tiny-qwen3");
    const r = await DecoderReranker.load({ model: dir });
    try {
      const tok = new Tokenizer(JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")), JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8")));
      const ids = (s: string) => tok.encode(s, { add_special_tokens: false }).ids;
      for (const [instruction, query, doc] of cases) {
        const expected = [...ids(QWEN3_PREFIX), ...ids(formatInstruction(instruction, query, doc)), ...ids(QWEN3_SUFFIX)];
        const unit = r.model!.encoder.encode(instruction, query, [doc]).units[0];
        expect(Array.from(unit.ids)).toEqual(expected);
        expect(tok.decode(Array.from(unit.ids), { skip_special_tokens: false })).toBe(`${QWEN3_PREFIX}${formatInstruction(instruction, query, doc)}${QWEN3_SUFFIX}`);
      }
      // The label tokens are "no" and "yes", read at the last position.
      expect(r.model!.labelIds.map((id) => tok.decode([id]))).toEqual(["no", "yes"]);
    } finally {
      await r.close();
    }
  });

  it("an instruction changes the score and is part of the cache key; the default instruction is used without one", async () => {
    const dir = await ensureGeneratedModel("tiny-qwen3");
    const r = await DecoderReranker.load({ model: dir, cache: true });
    try {
      const docs = ["Scurvy results from a lack of vitamin C.", "Bananas are yellow."];
      const plain = await r.rerank("scurvy", docs);
      const explicitDefault = await r.rerank("scurvy", docs, { instruction: QWEN3_DEFAULT });
      const other = await r.rerank("scurvy", docs, { instruction: "Prefer documents about fruit" });
      const byIndex = (rows: typeof plain) => rows.slice().sort((a, b) => a.index - b.index).map((x) => x.score);
      expect(byIndex(explicitDefault)).toEqual(byIndex(plain));
      expect(byIndex(other)).not.toEqual(byIndex(plain));
      expect(other.every((x) => x.details?.cached === false)).toBe(true);
    } finally {
      await r.close();
    }
  });
});

describe("decoder per-call options", () => {
  it("reads family[\"cross-encoder\"] windowing and score kind, and refuses what it does not read", async () => {
    const dir = await ensureGeneratedModel("tiny-qwen3");
    const r = await DecoderReranker.load({ model: dir, maxLength: 128, cache: true });
    try {
      const long = "Scurvy results from a lack of vitamin C in the diet of sailors on long voyages. ".repeat(12);
      const windowed = await r.rerank("scurvy", [long]);
      expect(windowed[0].details?.windows).toBeGreaterThan(1);
      const cut = await r.rerank("scurvy", [long], { family: { "cross-encoder": { truncate: true, scores: "logit" } } });
      expect(cut[0].details?.windows).toBe(1);
      expect(cut[0].details?.cached).toBe(false); // another cache key
      expect(cut[0].score).toBe(cut[0].details?.logit);
      await expect(r.rerank("q", ["d"], { family: { "cross-encoder": { scores: "calibrated" } } })).rejects.toMatchObject({ code: "INVALID_INPUT" });
      await expect(r.rerank("q", ["d"], { family: { "cross-encoder": { windows: 2 } as never } })).rejects.toThrow(/family\["cross-encoder"\]\.windows: unknown option/);
    } finally {
      await r.close();
    }
  });
});

describe("mxbai-rerank-v2 prompt", () => {
  it("renders instruction, query and document in its template and reads labels 0 / 1", async () => {
    const dir = await ensureGeneratedModel("tiny-qwen2");
    const r = await DecoderReranker.load({ model: dir });
    try {
      const tok = new Tokenizer(JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")), {});
      const unit = r.model!.encoder.encode("be strict", "what is scurvy", ["A disease."]).units[0];
      const text = tok.decode(Array.from(unit.ids), { skip_special_tokens: false });
      expect(text.startsWith("<|im_start|>system\n")).toBe(true);
      expect(text).toContain("<|im_start|>user\ninstruction: be strict\nquery: what is scurvy\ndocument: A disease.\n");
      expect(text.endsWith("Relevance:<|im_end|>\n<|im_start|>assistant\n")).toBe(true);
      expect(r.model!.labelIds.map((id) => tok.decode([id]))).toEqual(["0", "1"]);
    } finally {
      await r.close();
    }
  });
});

describe("decoder bad input: one-line errors naming the file or field", () => {
  it("a decoder model without a known template", async () => {
    const dir = copyModel(await ensureGeneratedModel("tiny-qwen3"));
    try {
      const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
      delete config.rerank_template;
      writeFileSync(join(dir, "config.json"), JSON.stringify(config));
      const err = await DecoderReranker.load({ model: dir }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WinnowError);
      expect((err as Error).message).toContain("config.json");
      expect((err as Error).message).toContain("rerank_template");
      expect((err as Error).message).not.toContain("\n");
      const bad = await DecoderReranker.load({ model: dir, template: "llama-judge" }).catch((e: unknown) => e);
      expect((bad as Error).message).toMatch(/^template: unknown rerank template "llama-judge"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a tokenizer whose ids run past the embedding rows (config.json vocab_size)", async () => {
    for (const preset of ["tiny-qwen3", "tiny-modernbert"] as const) {
      const dir = copyModel(await ensureGeneratedModel(preset));
      try {
        const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
        config.vocab_size = 1000;
        writeFileSync(join(dir, "config.json"), JSON.stringify(config));
        const err = await createReranker({ type: "cross-encoder", model: dir }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(WinnowError);
        expect((err as Error).message).toMatch(/tokenizer\.json has token ids up to \d+, but .*config\.json vocab_size is 1000/);
        expect((err as Error).message).not.toContain("\n");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it("an instruction to a cross-encoder that takes none is refused naming it; cross-encoder-only options are refused for decoders", async () => {
    const bert = await CrossEncoderReranker.load({ model: await ensureGeneratedModel("tiny-modernbert") });
    try {
      const err = await bert.rerank("q", ["d"], { instruction: "be strict" }).catch((e: unknown) => e);
      expect((err as WinnowError).code).toBe("INVALID_INPUT");
      expect((err as Error).message).toContain("cross-encoder:");
    } finally {
      await bert.close();
    }
    const err = await createReranker({ type: "cross-encoder", model: await ensureGeneratedModel("tiny-qwen3"), flashAttention: true }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^cross-encoder option flashAttention: not available for the decoder model/);
    const t = await createReranker({ type: "cross-encoder", model: await ensureGeneratedModel("tiny-bert"), template: "qwen3-reranker" }).catch((e: unknown) => e);
    expect((t as Error).message).toMatch(/^cross-encoder option template: only decoder models/);
  });
});
