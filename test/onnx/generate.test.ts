import { describe, expect, it, beforeAll } from "vitest";
import { mkdtempSync, readFileSync, existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { ensureGeneratedModel, generateModel, GENERATED_MARKER } from "../../src/onnx/generate.js";
import { WinnowError } from "../../src/core/errors.js";
import { probeInt8Kernels } from "../../src/onnx/int8-kernel-probe.js";
import { inspectInt8Weights } from "../../src/onnx/int8-weights.js";
import { encodePairs, loadTokenizer, runBatch } from "./model-session.js";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

describe("generateModel (tiny-bert)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await ensureGeneratedModel("tiny-bert");
  });

  it("writes the Hugging Face folder layout with real config keys", () => {
    for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "onnx/model.onnx"]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    expect(config).toMatchObject({
      architectures: ["BertForSequenceClassification"],
      model_type: "bert",
      hidden_size: 128,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      intermediate_size: 512,
      vocab_size: 30522,
      max_position_embeddings: 512,
      type_vocab_size: 2,
      pad_token_id: 0,
      num_labels: 1,
    });
    const vocab = readFileSync(join(dir, "vocab.txt"), "utf8").trimEnd().split("\n");
    expect(vocab).toHaveLength(30522);
    expect([vocab[0], vocab[1], vocab[100], vocab[101], vocab[102], vocab[1996], vocab[2015]]).toEqual(["[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "the", "##s"]);
  });

  it("tokenizes pairs as bert-base-uncased does", () => {
    const tok = loadTokenizer(dir);
    const enc = tok.encode("Héllo World!", { text_pair: "tokenization", return_token_type_ids: true });
    expect(enc.tokens).toEqual(["[CLS]", "hello", "world", "!", "[SEP]", "token", "##ization", "[SEP]"]);
    expect(enc.ids).toEqual([101, 7592, 2088, 999, 102, 19204, 3989, 102]);
    expect(enc.token_type_ids).toEqual([0, 0, 0, 0, 0, 1, 1, 1]);
  });

  it("runs in ONNX Runtime with dynamic batch and sequence axes, and padding does not change logits", async () => {
    const session = await ort.InferenceSession.create(join(dir, "onnx", "model.onnx"));
    expect([...session.inputNames].sort()).toEqual(["attention_mask", "input_ids", "token_type_ids"]);
    const tok = loadTokenizer(dir);
    const pairs: Array<[string, string]> = [
      ["what causes scurvy", "Scurvy is caused by a lack of vitamin C in the diet."],
      ["what causes scurvy", "The stock market fell sharply on Monday."],
      ["a", "b"],
    ];
    const batch = encodePairs(tok, pairs, 0);
    const out = await runBatch(session, batch);
    expect(out.dims).toEqual([3, 1]);
    for (let i = 0; i < pairs.length; i++) {
      const alone = await runBatch(session, encodePairs(tok, [pairs[i]], 0));
      expect(Math.abs(alone.data[0] - out.data[i])).toBeLessThan(1e-5);
    }
    // Random weights, but the classifier is scaled so pairs get distinguishable scores.
    expect(Math.abs(out.data[0] - out.data[1])).toBeGreaterThan(1e-3);
  });

  it("is deterministic per seed", async () => {
    const a = mkdtempSync(join(tmpdir(), "winnow-gen-"));
    const b = mkdtempSync(join(tmpdir(), "winnow-gen-"));
    await generateModel({ dir: a, preset: "tiny-bert", seed: 7, quantized: false });
    await generateModel({ dir: b, preset: "tiny-bert", seed: 8, quantized: false });
    const cached = readFileSync(join(dir, "onnx", "model.onnx"));
    const again = readFileSync(join(a, "onnx", "model.onnx"));
    expect(Buffer.compare(again, readFileSync(join(b, "onnx", "model.onnx")))).not.toBe(0);
    await generateModel({ dir: b, preset: "tiny-bert", seed: 7, quantized: false });
    expect(Buffer.compare(again, readFileSync(join(b, "onnx", "model.onnx")))).toBe(0);
    expect(Buffer.compare(again, cached)).not.toBe(0); // default seed 42 differs from 7
  });

  it("rejects an unknown preset and a bad seed with typed errors naming the field", async () => {
    await expect(ensureGeneratedModel("huge-bert" as never)).rejects.toMatchObject({ code: "INVALID_INPUT", details: { field: "preset" } });
    await expect(generateModel({ dir: tmpdir(), preset: "tiny-bert", seed: -1 })).rejects.toBeInstanceOf(WinnowError);
  });
});

describe("generateModel (tiny-xlmr)", () => {
  it("has no token_type_ids input, RoBERTa positions, and a Unigram tokenizer with the <s> A </s></s> B </s> template", async () => {
    const dir = await ensureGeneratedModel("tiny-xlmr");
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    expect(config).toMatchObject({ model_type: "xlm-roberta", pad_token_id: 1, type_vocab_size: 1, max_position_embeddings: 514 });
    const tok = loadTokenizer(dir);
    const enc = tok.encode("hello world", { text_pair: "test" });
    expect(enc.tokens).toEqual(["<s>", "\u2581hello", "\u2581world", "</s>", "</s>", "\u2581test", "</s>"]);
    expect(config.vocab_size).toBe(tok.get_vocab(true).size);
    const session = await ort.InferenceSession.create(join(dir, "onnx", "model.onnx"));
    expect([...session.inputNames].sort()).toEqual(["attention_mask", "input_ids"]);
    const pairs: Array<[string, string]> = [["short", "x"], ["a longer query here", "and a longer document with more words in it"]];
    const out = await runBatch(session, encodePairs(tok, pairs, 1));
    const alone = await runBatch(session, encodePairs(tok, [pairs[0]], 1));
    expect(Math.abs(alone.data[0] - out.data[0])).toBeLessThan(1e-5);
  });
});

describe("ensureGeneratedModel", () => {
  it("regenerates a cached folder whose int8 weights are not the scheme this CPU's probe picks (a cache made on another CPU), and reuses one that is", async () => {
    const probe = await probeInt8Kernels();
    const other = probe.recommended === "s8" ? "u8" : "s8";
    const cacheDir = mkdtempSync(join(tmpdir(), "winnow-cache-"));
    const dir = join(cacheDir, "tiny-bert");
    await generateModel({ dir, preset: "tiny-bert", int8Weights: other });
    expect((await inspectInt8Weights(join(dir, "onnx", "model_quantized.onnx"))).weights).toBe(other);
    expect(JSON.parse(readFileSync(join(dir, GENERATED_MARKER), "utf8"))).toMatchObject({ int8Weights: other, int8Reason: expect.stringContaining("as asked") });
    expect(await ensureGeneratedModel("tiny-bert", { cacheDir })).toBe(dir);
    const marker = JSON.parse(readFileSync(join(dir, GENERATED_MARKER), "utf8"));
    expect(marker).toMatchObject({ int8Weights: probe.recommended, int8Reason: `auto: ${probe.reason}` });
    expect((await inspectInt8Weights(join(dir, "onnx", "model_quantized.onnx"))).weights).toBe(probe.recommended);
    // Current: left alone.
    const before = statSync(join(dir, GENERATED_MARKER)).mtimeMs;
    await ensureGeneratedModel("tiny-bert", { cacheDir });
    expect(statSync(join(dir, GENERATED_MARKER)).mtimeMs).toBe(before);
    // A marker from before the scheme was recorded means s8 weights: current where s8 is the auto scheme, stale elsewhere.
    writeFileSync(join(dir, GENERATED_MARKER), JSON.stringify({ ...marker, int8Weights: undefined, int8Reason: undefined }));
    await ensureGeneratedModel("tiny-bert", { cacheDir });
    expect(JSON.parse(readFileSync(join(dir, GENERATED_MARKER), "utf8")).int8Weights).toBe(probe.recommended === "s8" ? undefined : "u8");
  }, 60_000);


  it("two processes racing on an empty cache both get one complete folder", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "winnow-cache-"));
    const script = `import { ensureGeneratedModel } from ${JSON.stringify(join(repoRoot, "src/onnx/generate.ts"))};
      console.log(await ensureGeneratedModel("tiny-bi-encoder", { cacheDir: ${JSON.stringify(cacheDir)} }));`;
    const run = () => promisify(execFile)(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: repoRoot });
    const [a, b] = await Promise.all([run(), run()]);
    expect(a.stdout.trim()).toBe(join(cacheDir, "tiny-bi-encoder"));
    expect(b.stdout.trim()).toBe(a.stdout.trim());
    expect(readdirSync(cacheDir)).toEqual(["tiny-bi-encoder"]); // no temp folders left behind
    expect(existsSync(join(cacheDir, "tiny-bi-encoder", GENERATED_MARKER))).toBe(true);
    const session = await ort.InferenceSession.create(join(cacheDir, "tiny-bi-encoder", "onnx", "model.onnx"));
    expect(session.outputNames).toEqual(["last_hidden_state"]);
  }, 60_000);
});
