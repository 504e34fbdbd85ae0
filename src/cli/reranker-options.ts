import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { missingRerankerField, rerankerTypes, type RerankerSpec } from "../rerankers/registry.js";
import { UsageError } from "./usage-error.js";

/**
 * The reranker flags shared by `rerank`, `eval`, `sweep`, `label`…: one way to name
 * any reranker family from the command line. `--reranker` picks the family; the
 * common options get flags; anything else goes through repeated `--option key=value`
 * or a JSON file, and the family's factory validates it.
 */
export function addRerankerOptions(cmd: Command, defaultType?: string): Command {
  // Generated from the registry when help is shown, so a new family (or one registered by
  // an embedding program) is listed without editing this file.
  cmd.addHelpText("after", () => rerankerFamiliesHelp());
  return cmd
    .option("--reranker <type>", "reranker family (listed below; each family's fields and examples: docs/rerankers.md)", defaultType)
    .option("--model <id-or-path>", "model id, folder or file for the reranker")
    .option("--dtype <dtype>", "model weights: fp32 | int8 (ONNX models)")
    .option("--base-url <url>", "endpoint for hosted APIs and LLM servers")
    .option("--offline", "never download; use local folders and caches only")
    .option("--reranker-config <file>", "JSON file with the reranker spec ({\"type\": …, …})")
    .option("-O, --option <key=value>", "extra reranker option (repeatable; value parsed as JSON when it can be)", collectOption, [] as string[]);
}

/** The families `--reranker` accepts, one per line with the registry's description. */
export function rerankerFamiliesHelp(): string {
  const types = rerankerTypes();
  const width = Math.max(...types.map((t) => t.type.length));
  return [
    "",
    "Reranker families (--reranker TYPE; family options as -O key=value or --reranker-config FILE;",
    "every family's fields, with a CLI and a library example each: docs/rerankers.md):",
    ...types.map((t) => `  ${t.type.padEnd(width)}  ${t.description}`),
  ].join("\n");
}

function collectOption(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The flags addRerankerOptions adds, as commander parses them. */
export interface RerankerFlags {
  reranker?: string;
  model?: string;
  dtype?: string;
  baseUrl?: string;
  offline?: boolean;
  rerankerConfig?: string;
  option?: string[];
}

/** The spec the flags describe, or undefined when no reranker was asked for. */
export function rerankerSpecFromFlags(flags: RerankerFlags): RerankerSpec | undefined {
  let spec: Partial<RerankerSpec> = {};
  if (flags.rerankerConfig) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(flags.rerankerConfig, "utf8"));
    } catch (err) {
      throw new UsageError(`--reranker-config ${flags.rerankerConfig}: ${(err as Error).message}`);
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new UsageError(`--reranker-config ${flags.rerankerConfig}: expected a JSON object`);
    }
    spec = parsed as Partial<RerankerSpec>;
  }
  if (flags.reranker) spec.type = flags.reranker;
  if (flags.model !== undefined) spec.model = flags.model;
  if (flags.dtype !== undefined) spec.dtype = flags.dtype;
  if (flags.baseUrl !== undefined) spec.baseUrl = flags.baseUrl;
  if (flags.offline) spec.offline = true;
  for (const kv of flags.option ?? []) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new UsageError(`--option expects key=value, got "${kv}"`);
    const key = kv.slice(0, eq);
    const raw = kv.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // plain string
    }
    spec[key] = value;
  }
  if (spec.type === undefined) {
    if (Object.keys(spec).length === 0) return undefined;
    throw new UsageError("reranker options given without --reranker <type>");
  }
  const missing = missingRerankerField(spec as RerankerSpec);
  if (missing) throw new UsageError(`${FLAG_FOR_FIELD[missing.field] ?? `-O ${missing.field}=…`} is required for the ${spec.type} reranker (${missing.hint})`);
  return spec as RerankerSpec;
}

/** Spec fields that have their own flag, to name the flag when a family requires the field. */
const FLAG_FOR_FIELD: Record<string, string> = { model: "--model", dtype: "--dtype", baseUrl: "--base-url" };
