import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { buildProgram, main } from "../../src/cli/main.js";
import { rerankerFamiliesHelp } from "../../src/cli/reranker-options.js";
import { createReranker, registerReranker, rerankerTypes } from "../../src/rerankers/registry.js";

const repo = resolve(import.meta.dirname, "../..");
const page = readFileSync(join(repo, "docs/rerankers.md"), "utf8");

async function help(command: string): Promise<string> {
  let out = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const code = await main(["node", "winnow", command, "--help"]);
  vi.restoreAllMocks();
  expect(code).toBe(0);
  return out;
}

afterEach(() => vi.restoreAllMocks());

describe("--reranker help", () => {
  it("every command that takes --reranker lists every registered family and points to a page that exists", async () => {
    const program = await buildProgram();
    const withReranker = program.commands.filter((c) => c.options.some((o) => o.long === "--reranker")).map((c) => c.name());
    expect(withReranker).toEqual(expect.arrayContaining(["rerank", "eval", "sweep", "label", "calibrate", "serve", "demo"]));
    for (const name of withReranker) {
      const text = await help(name);
      for (const { type, description } of rerankerTypes()) expect(text, `${name} --help`).toMatch(new RegExp(`^  ${type} +${description.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"));
      for (const doc of text.match(/docs\/[\w-]+\.md/g) ?? []) expect(existsSync(join(repo, doc)), `${name} --help names ${doc}`).toBe(true);
      expect(text).toContain("docs/rerankers.md");
    }
  });

  it("is generated from the registry: a family registered at run time is listed", () => {
    registerReranker("test-family-for-help", async () => ({ name: "x", rerank: async () => [] }), "registered by a test");
    expect(rerankerFamiliesHelp()).toMatch(/^ {2}test-family-for-help {2}registered by a test$/m);
  });
});

/** Field names in the first column of the tables of one section of docs/rerankers.md. */
function documentedFields(section: string): string[] {
  const fields: string[] = [];
  for (const line of section.split("\n")) {
    const m = /^\| ([^|]+) \|/.exec(line);
    if (!m || !m[1].startsWith("`")) continue;
    for (const name of m[1].matchAll(/`([A-Za-z][A-Za-z0-9]*)`/g)) fields.push(name[1]);
  }
  return fields;
}

/** Sections of the page by heading text (## and ###). */
function sections(): Map<string, string> {
  const out = new Map<string, string>();
  const parts = page.split(/^#{2,3} /m).slice(1);
  for (const part of parts) out.set(part.slice(0, part.indexOf("\n")).trim(), part);
  return out;
}

const API_TYPES = ["cohere", "jina", "voyage", "mixedbread", "tei", "infinity"];

/** A spec the family would accept but for `field`, set to a value no field takes. */
function probe(type: string, field: string): Record<string, unknown> {
  const base: Record<string, unknown> =
    type === "learned" ? {} : type === "cross-encoder" || type === "colbert" ? { model: join(repo, "no-such-model") } : type === "llm" ? { model: "m", baseUrl: "http://127.0.0.1:9/v1" } : { model: "m", apiKey: "k", baseUrl: "http://127.0.0.1:9" };
  return { type, ...base, [field]: Symbol("probe") };
}

async function refusedAsUnknown(type: string, field: string): Promise<boolean> {
  try {
    const r = await createReranker(probe(type, field) as never);
    await r.close?.();
    return false;
  } catch (err) {
    return /unrecognized key|unknown option/i.test((err as Error).message);
  }
}

describe("docs/rerankers.md", () => {
  const byHeading = sections();

  it("has a section for every built-in family", () => {
    for (const { type } of rerankerTypes()) {
      if (type.startsWith("test-")) continue;
      expect(byHeading.has(type), `section "## ${type}" or "### ${type}"`).toBe(true);
    }
  });

  it("documents only fields the family accepts (the probe does flag an unknown one)", async () => {
    const shared = documentedFields(byHeading.get("Hosted and self-hosted rerank APIs") ?? "");
    expect(shared).toContain("timeoutMs");
    for (const type of ["learned", "cross-encoder", "colbert", "llm", ...API_TYPES]) {
      expect(await refusedAsUnknown(type, "notAField"), `${type} flags an unknown field`).toBe(true);
      const own = documentedFields(byHeading.get(type) ?? "");
      const fields = API_TYPES.includes(type) ? [...shared, ...own] : own;
      expect(fields.length, type).toBeGreaterThan(0);
      for (const field of fields) expect(await refusedAsUnknown(type, field), `${type}: documented field "${field}"`).toBe(false);
    }
  });
});
