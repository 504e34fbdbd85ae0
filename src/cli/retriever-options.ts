import type { Command } from "commander";
import { isWinnowError } from "../core/errors.js";
import { checkRetrieverSpec, createRetriever, retrieverTypes, type FirstStageRetriever, type RetrieverContext, type RetrieverSpec } from "../retrieval/registry.js";
import { UsageError } from "./usage-error.js";

/**
 * `--retriever <name|JSON spec>`, shared by every command that retrieves (eval, search,
 * sweep, label, calibrate, demo): one way to name any registered first stage, BM25 by
 * default so existing commands mean what they did.
 */
export function addRetrieverOption(cmd: Command): Command {
  // Generated from the registry when help is shown, so a registered first stage is listed too.
  cmd.addHelpText("after", () => retrieverTypesHelp());
  return cmd.option("--retriever <name|json>", 'first stage: a retriever name (listed below) or a JSON spec, e.g. \'{"type":"dense","model":"DIR"}\'', "bm25");
}

export function retrieverTypesHelp(): string {
  const types = retrieverTypes();
  const width = Math.max(...types.map((t) => t.type.length));
  return ["", "Retrievers (--retriever NAME or --retriever '{\"type\":NAME,…}'; fields: docs/pipelines.md):", ...types.map((t) => `  ${t.type.padEnd(width)}  ${t.description}`)].join("\n");
}

/**
 * The spec `--retriever` names, with `extra` options layered on (flags such as --k1),
 * checked by its row's schema: a bad name, JSON or field is a usage error naming it.
 */
export function retrieverSpecFromFlag(value: string, extra: Record<string, unknown> = {}): RetrieverSpec {
  const text = value.trim();
  let spec: unknown;
  if (text.startsWith("{")) {
    try {
      spec = JSON.parse(text);
    } catch (err) {
      throw new UsageError(`--retriever: not valid JSON (${(err as Error).message})`);
    }
    if (spec === null || typeof spec !== "object" || Array.isArray(spec)) throw new UsageError("--retriever: a JSON spec must be an object with a string \"type\"");
  } else if (/^[A-Za-z0-9][\w.-]*$/.test(text)) {
    spec = { type: text };
  } else {
    throw new UsageError(`--retriever must be a retriever name (${retrieverTypes().map((t) => t.type).join(", ")}) or a JSON object spec, got ${JSON.stringify(value)}`);
  }
  const merged = { ...(spec as RetrieverSpec), ...Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined)) };
  try {
    return checkRetrieverSpec(merged);
  } catch (err) {
    if (isWinnowError(err)) throw new UsageError(`--retriever: ${err.message}`);
    throw err;
  }
}

/** Progress for a terminal only (piped JSON and logs stay clean): one rewritten line, ended by done(). */
export function terminalProgress(enabled = process.stderr.isTTY): { progress?: (message: string) => void; done(): void } {
  if (!enabled) return { done: () => undefined };
  let wrote = false;
  return {
    progress: (message: string) => {
      wrote = true;
      process.stderr.write(`\r${message}`);
    },
    done: () => {
      if (wrote) process.stderr.write("\n");
      wrote = false;
    },
  };
}

/** Opens the first stage; a spec the row refuses while opening (no index, no model) is a usage error, like a bad flag. */
export async function openRetriever(spec: RetrieverSpec, context: RetrieverContext): Promise<FirstStageRetriever> {
  try {
    return await createRetriever(spec, context);
  } catch (err) {
    if (isWinnowError(err) && err.code === "CONFIG_INVALID") throw new UsageError(`--retriever: ${err.message}`);
    throw err;
  }
}
