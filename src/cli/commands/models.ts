import type { Command } from "commander";
import { lookupCacheDirs, scanHubCache, type CachedModel } from "../../models/hub-cache.js";
import { CROSS_ENCODER_CATALOGUE, catalogueEntry, DEFAULT_ONNX_FILES, type Dtype } from "../../rerankers/cross-encoder/catalogue.js";
import { resolveModelSource, type ResolvedModel } from "../../models/model-source.js";
import { formatInt8Probe, probeInt8Kernels } from "../../onnx/int8-kernel-probe.js";
import { int8Candidates } from "../../rerankers/cross-encoder/int8-model.js";
import { missingOnly } from "../../rerankers/cross-encoder/load-model.js";
import { UsageError } from "../usage-error.js";
import { COLBERT_CATALOGUE } from "../../rerankers/colbert/catalogue.js";
import { parseFormat } from "./metrics.js";

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  return [head, ...rows].map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd()).join("\n");
}

function cachedModels(cacheDir?: string): CachedModel[] {
  return lookupCacheDirs(cacheDir).flatMap((root) => scanHubCache(root));
}

async function list(flags: { format: string; cacheDir?: string }): Promise<void> {
  const format = parseFormat(flags.format);
  const cached = cachedModels(flags.cacheDir);
  const cachedIds = new Set(cached.map((c) => c.repoId.toLowerCase()));
  // The listing still works where ONNX Runtime cannot run (the probe's failure is shown instead).
  const int8 = await probeInt8Kernels().catch((err: Error) => ({ error: err.message }));
  if (format === "json") {
    process.stdout.write(JSON.stringify({ catalogue: CROSS_ENCODER_CATALOGUE.map((e) => ({ ...e, cached: cachedIds.has(e.id.toLowerCase()) })), colbert: COLBERT_CATALOGUE.map((e) => ({ ...e, cached: cachedIds.has(e.id.toLowerCase()) })), cached, caches: lookupCacheDirs(flags.cacheDir), int8 }, null, 2) + "\n");
    return;
  }
  const rows = CROSS_ENCODER_CATALOGUE.map((e) => [
    e.id,
    e.architecture,
    e.params,
    String(e.maxLength),
    e.tokenTypeIds ? "yes" : "no",
    e.numLabels === 1 ? "1 (sigmoid)" : "2 (softmax)",
    e.defaultDtype,
    [e.onnxFiles.fp32 ? `fp32:${e.onnxFiles.fp32}` : "", e.int8Files ? `int8:${e.int8Files.map((v) => `${v.file}(${v.weights})`).join(",")}` : e.onnxFiles.int8 ? `int8:${e.onnxFiles.int8}` : ""].filter(Boolean).join(" "),
    e.languages,
    e.licence ?? "",
    cachedIds.has(e.id.toLowerCase()) ? "yes" : "",
  ]);
  process.stdout.write("Cross-encoder catalogue (any Hugging Face sequence-classification model exported to ONNX also works; decoders, arch qwen2/qwen3, score from yes/no logits):\n");
  process.stdout.write(table(["model", "arch", "params", "max len", "token types", "labels", "dtype", "onnx files", "languages", "licence", "cached"], rows) + "\n\n");
  process.stdout.write("ColBERT catalogue (late interaction, --reranker colbert; docs/colbert.md):\n");
  const colbertRows = COLBERT_CATALOGUE.map((e) => [e.id, e.architecture, e.params, String(e.dims), e.format, e.onnxFiles.fp32 ?? "none published (export)", e.nonCommercial ? `${e.licence} (NON-COMMERCIAL)` : e.licence, cachedIds.has(e.id.toLowerCase()) ? "yes" : ""]);
  process.stdout.write(table(["model", "arch", "params", "dims", "settings", "onnx", "licence", "cached"], colbertRows) + "\n\n");
  process.stdout.write("Published quality (as the authors published it, not measured here) and unchecked facts: winnow models --format json (published, unverified).\n\n");
  if ("error" in int8) process.stdout.write(`int8 kernels: not probed (${int8.error})\n\n`);
  else {
    process.stdout.write(`${formatInt8Probe(int8)}\n`);
    process.stdout.write(`dtype int8 here: ${int8.s8.exact ? "s8 files as published (u8 ones also exact)" : int8.s8PrecisionMode.exact ? "u8 files first; s8 files through ONNX Runtime's load-time s8→u8 conversion (session.x64quantprecision)" : "u8 files; s8 files are requantized from fp32"}\n\n`);
  }
  process.stdout.write(`Caches searched: ${lookupCacheDirs(flags.cacheDir).join(", ")}\n`);
  if (cached.length === 0) {
    process.stdout.write("No models cached. Fetch one with `winnow models pull <id>` (needs network or HF_ENDPOINT), or pass a local folder to --model.\n");
    return;
  }
  const cachedRows = cached.flatMap((c) =>
    c.snapshots.map((s) => [c.repoId, s.commit.slice(0, 12), Object.entries(c.refs).filter(([, v]) => v === s.commit).map(([k]) => k).join(",") || "-", String(s.files.length), mib(s.bytes), c.cacheRoot]),
  );
  process.stdout.write(table(["cached model", "commit", "refs", "files", "size", "cache"], cachedRows) + "\n");
}

interface PullFlags {
  dtype?: string;
  revision?: string;
  cacheDir?: string;
  onnxFile?: string;
  offline?: boolean;
}

async function pull(model: string, flags: PullFlags): Promise<void> {
  if (flags.dtype !== undefined && flags.dtype !== "fp32" && flags.dtype !== "int8") throw new UsageError(`--dtype must be fp32 or int8, got "${flags.dtype}"`);
  const entry = catalogueEntry(model);
  const dtype = (flags.dtype ?? entry?.defaultDtype ?? "fp32") as Dtype;
  // int8: every variant the catalogue lists (the machine that runs the model may have another CPU), best for this one first.
  const files = flags.onnxFile
    ? [flags.onnxFile]
    : dtype === "int8" && entry?.int8Files
      ? int8Candidates(entry, await probeInt8Kernels(), DEFAULT_ONNX_FILES.int8)
      : [entry?.onnxFiles[dtype] ?? DEFAULT_ONNX_FILES[dtype]];
  // offline undefined: HF_HUB_OFFLINE / WINNOW_OFFLINE decide, as for every other command.
  const options = { revision: flags.revision, cacheDir: flags.cacheDir, offline: flags.offline ? true : undefined, onDownload: (f: string) => process.stderr.write(`downloaded ${f}\n`) };
  const got: Array<{ file: string; resolved: ResolvedModel }> = [];
  let firstError: unknown;
  for (const file of files) {
    try {
      const resolved = await resolveModelSource(model, { required: ["config.json", "tokenizer.json", file], optional: ["tokenizer_config.json", "special_tokens_map.json"] }, options);
      got.push({ file, resolved });
    } catch (err) {
      if (files.length === 1 || !missingOnly(err, file)) throw err;
      firstError ??= err;
    }
  }
  if (got.length === 0) throw firstError;
  for (const { file, resolved } of got) {
    process.stdout.write(`${model}@${resolved.revision} (${dtype}: ${file}) ${resolved.origin === "download" ? "cached" : "already cached"} in ${resolved.dir}\n`);
  }
}

/** `winnow models`: the catalogue and what is cached; `winnow models pull <id>` fetches one for offline use. */
export function register(program: Command): void {
  const models = program.command("models").description("list known rerankers and cached models; fetch a model for offline use");
  models
    .command("list", { isDefault: true })
    .description("show the cross-encoder catalogue and the models in the caches")
    .option("--format <format>", "table | json", "table")
    .option("--cache-dir <dir>", "hub cache to look in first (default $WINNOW_CACHE/hub, then the Hugging Face cache)")
    .action(list);
  models
    .command("pull <model>")
    .description("download a hub model's config, tokenizer and ONNX graph(s) into the cache (honours HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE)")
    .option("--dtype <dtype>", "fp32 | int8 (default per catalogue)")
    .option("--revision <rev>", "branch, tag or commit", "main")
    .option("--onnx-file <path>", "ONNX file in the repo, overriding the dtype's default")
    .option("--cache-dir <dir>", "cache to download into (default $WINNOW_CACHE/hub, else the Hugging Face hub cache)")
    .option("--offline", "never touch the network: only check that the files are cached (also HF_HUB_OFFLINE=1 or WINNOW_OFFLINE=1)")
    .action(pull);
}
