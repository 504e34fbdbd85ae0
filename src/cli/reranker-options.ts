import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { missingRerankerField, rerankerTraits, rerankerTypes, type RerankerSpec } from "../rerankers/registry.js";
import { UsageError } from "./usage-error.js";

/**
 * The reranker flags shared by `rerank`, `eval`, `sweep`, `label`…: one way to name
 * any reranker family from the command line. `--reranker` picks the family; the
 * common options get flags; anything else goes through repeated `--option key=value`
 * or a JSON file, and the family's factory validates it.
 */
export function addRerankerOptions(cmd: Command, defaultType?: string, options: { repeatable?: boolean } = {}): Command {
  // Generated from the registry when help is shown, so a new family (or one registered by
  // an embedding program) is listed without editing this file.
  cmd.addHelpText("after", () => rerankerFamiliesHelp());
  const chosen = options.repeatable
    ? cmd.option(
        "--reranker <type-or-json>",
        `reranker family or JSON spec; repeat to compare several (${defaultType ? `default ${defaultType}; ` : ""}listed below; how flags bind: docs/evaluation.md; fields: docs/rerankers.md)`,
        (value: string, previous?: string[]) => [...(previous ?? []), value],
      )
    : cmd.option("--reranker <type>", "reranker family (listed below; each family's fields and examples: docs/rerankers.md)", defaultType);
  return chosen
    .option("--model <id-or-path>", "model id, folder or file for the reranker")
    .option("--dtype <dtype>", "model weights: fp32 | int8 (ONNX models)")
    .option("--base-url <url>", "endpoint for hosted APIs and LLM servers")
    .option("--offline", "never download; use local folders and caches only")
    .option("--instruction <text>", "instruction for rerankers that read one (llm, decoder models such as Qwen3-Reranker); others exit 2")
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
  instruction?: string;
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
  if (flags.instruction !== undefined) spec.instruction = flags.instruction;
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

/**
 * The specs of a repeatable `--reranker` (`winnow sweep`). One value binds the shared flags
 * as rerankerSpecFromFlags does. With several, each value is a family name or a whole JSON
 * spec (`'{"type":"cross-encoder","model":"M"}'`, taken as given); `--model`, `--dtype` and
 * `--offline` go to the named families that require a model, and `--base-url`, `-O` and
 * `--reranker-config` are refused (which reranker they meant would be a guess).
 */
export function rerankerSpecsFromFlags(values: readonly string[], flags: RerankerFlags): RerankerSpec[] {
  const parse = (value: string): RerankerSpec | undefined => {
    if (!value.trimStart().startsWith("{")) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch (err) {
      throw new UsageError(`--reranker ${value}: not valid JSON (${(err as Error).message})`);
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed) || typeof (parsed as { type?: unknown }).type !== "string") {
      throw new UsageError(`--reranker ${value}: a JSON spec must be an object with a string "type"`);
    }
    return parsed as RerankerSpec;
  };
  const checked = (spec: RerankerSpec): RerankerSpec => {
    const missing = missingRerankerField(spec);
    if (missing) throw new UsageError(`--reranker ${spec.type}: ${FLAG_FOR_FIELD[missing.field] ?? missing.field} is required (${missing.hint})`);
    return spec;
  };
  if (values.length <= 1) {
    const json = values[0] === undefined ? undefined : parse(values[0]);
    if (json) return [checked(json)];
    const spec = rerankerSpecFromFlags({ ...flags, reranker: values[0] ?? flags.reranker });
    return spec ? [spec] : [];
  }
  const refused = [flags.baseUrl !== undefined && "--base-url", flags.instruction !== undefined && "--instruction", (flags.option ?? []).length > 0 && "-O", flags.rerankerConfig !== undefined && "--reranker-config"].filter(Boolean);
  if (refused.length > 0) {
    throw new UsageError(`${refused.join(", ")} cannot be bound to one of several --reranker values: put it in that reranker's JSON spec, e.g. --reranker '{"type":"cohere","baseUrl":"…"}'`);
  }
  return values.map((value) => {
    const json = parse(value);
    if (json) return checked(json);
    const spec: RerankerSpec = { type: value };
    if (rerankerTraits(value).requires?.some((r) => r.field === "model")) {
      if (flags.model !== undefined) spec.model = flags.model;
      if (flags.dtype !== undefined) spec.dtype = flags.dtype;
      if (flags.offline) spec.offline = true;
    }
    return checked(spec);
  });
}

/** Spec fields that have their own flag, to name the flag when a family requires the field. */
const FLAG_FOR_FIELD: Record<string, string> = { model: "--model", dtype: "--dtype", baseUrl: "--base-url" };
