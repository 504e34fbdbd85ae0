import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The package as a user gets it: `npm pack` of what package.json "files" ships (dist as
 * `npm run build` emits it), installed into an empty folder with no network (`npm install
 * --offline`, from the local npm cache) beside the frameworks the examples use; then
 * `npx winnow demo` and the three framework examples run from there.
 *
 * The repository's lockfile pins every version but records no tarball URLs, and npm's
 * cache holds the tarballs but not the registry's package documents; so the install
 * folder gets a lockfile made from the repository's, with the registry URL of each
 * tarball, which npm then finds in its cache by integrity.
 */
const repo = resolve(import.meta.dirname, "..");
const manifest = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as {
  name: string;
  version: string;
  license: string;
  bin: Record<string, string>;
  engines: Record<string, string>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, unknown>;
};
/** What the examples import besides Winnow. */
const FRAMEWORKS = ["ai", "@langchain/core", "@langchain/classic", "@llamaindex/core"];

let work: string;
let tarball: string;
let files: string[];
let install: string;

function run(command: string, args: string[], cwd: string, timeout = 180_000): SpawnSyncReturns<string> {
  const r = spawnSync(command, args, { cwd, encoding: "utf8", timeout, env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: "skip", npm_config_update_notifier: "false", NO_COLOR: "1" } });
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} (in ${cwd}) exited ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** The install folder's package.json and lockfile: the tarball and the frameworks, every other package as the repository locks it. */
function writeInstallLock(dir: string, tgz: string): void {
  const lock = JSON.parse(readFileSync(join(repo, "package-lock.json"), "utf8")) as { packages: Record<string, Record<string, unknown>> };
  const dependencies: Record<string, string> = { [manifest.name]: `file:${tgz}` };
  for (const f of FRAMEWORKS) dependencies[f] = String(lock.packages[`node_modules/${f}`].version);
  const packages: Record<string, unknown> = { "": { name: "winnow-install-check", version: "1.0.0", dependencies } };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (!path.startsWith("node_modules/")) continue;
    const { dev: _dev, devOptional: _devOptional, ...rest } = entry;
    if (!rest.resolved && !rest.link && typeof rest.version === "string") {
      const name = typeof rest.name === "string" ? rest.name : path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);
      rest.resolved = `https://registry.npmjs.org/${name}/-/${name.split("/").pop()}-${rest.version}.tgz`;
    }
    packages[path] = rest;
  }
  const { name, version, license, bin, engines, dependencies: deps, peerDependencies, peerDependenciesMeta } = manifest;
  const integrity = `sha512-${createHash("sha512").update(readFileSync(tgz)).digest("base64")}`;
  packages[`node_modules/${name}`] = { version, resolved: `file:${tgz}`, integrity, license, bin, engines, dependencies: deps, peerDependencies, peerDependenciesMeta };
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "winnow-install-check", version: "1.0.0", private: true, type: "module", dependencies }, null, 2));
  writeFileSync(join(dir, "package-lock.json"), JSON.stringify({ name: "winnow-install-check", version: "1.0.0", lockfileVersion: 3, requires: true, packages }, null, 2));
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "winnow-pack-"));
  // A staging copy of what "files" names, with dist built fresh (the checkout's dist/ is left alone).
  const stage = join(work, "stage");
  mkdirSync(stage);
  spawnSync(process.execPath, [join(repo, "node_modules/typescript/bin/tsc"), "-p", join(repo, "tsconfig.build.json"), "--outDir", join(stage, "dist")], { encoding: "utf8" });
  if (!existsSync(join(stage, "dist/index.js"))) throw new Error("tsc -p tsconfig.build.json emitted no dist/index.js");
  for (const entry of ["package.json", "README.md", "LICENSE", "bin", "models", "examples"]) cpSync(join(repo, entry), join(stage, entry), { recursive: true });
  const packed = JSON.parse(run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], stage).stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(work, packed[0].filename);
  files = packed[0].files.map((f) => f.path);

  install = join(work, "app");
  mkdirSync(install);
  writeInstallLock(install, tarball);
  run("npm", ["install", "--offline", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], install);
  // As a user would: the examples copied into their own project.
  for (const f of readdirSync(join(repo, "examples")).filter((f) => f.endsWith(".ts"))) cpSync(join(install, "node_modules", manifest.name, "examples", f), join(install, f));
}, 400_000);
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the packed tarball, installed offline in an empty folder", () => {
  it("ships what runs: dist JavaScript and declarations, bin, the shipped model, examples, README and LICENSE; no sources or source maps", () => {
    for (const f of ["package.json", "README.md", "LICENSE", "bin/winnow.js", "dist/index.js", "dist/index.d.ts", "dist/integrations/ai-sdk/index.js", "models/learned-default.json", "examples/ai-sdk.ts", "examples/scifact-mini/corpus.jsonl"]) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => f.startsWith("src/") || f.startsWith("test/") || f.endsWith(".map"))).toEqual([]);
    expect(readFileSync(join(install, "node_modules", manifest.name, "dist/index.js"), "utf8")).not.toContain("sourceMappingURL");
    expect(readFileSync(join(repo, "LICENSE"), "utf8")).toMatch(/Apache License\s+Version 2\.0/);
    expect(manifest.license).toBe("Apache-2.0");
  });

  it("npx winnow demo runs: BM25 → learned reranker on the bundled sample, with its lift table", () => {
    const r = run("npx", ["--offline", "winnow", "demo"], install);
    expect(r.stdout).toMatch(/Winnow demo: .* documents/);
    expect(r.stdout).toMatch(/ndcg_cut_10/);
    expect(r.stdout).toMatch(/wins\/ties\/losses over 300 queries/);
  });

  it.each(["ai-sdk", "langchain", "llamaindex"])("examples/%s.ts runs against the installed package and prints the reranked top 3", (example) => {
    const r = run(process.execPath, ["--import", join(repo, "node_modules/tsx/dist/esm/index.mjs"), `${example}.ts`], install, 60_000);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(3);
    const scores = lines.map((l) => Number(/^(-?\d+\.\d{4})\s/.exec(l)?.[1]));
    expect(scores.every(Number.isFinite)).toBe(true);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(lines[0]).toContain("Fever in children is most often caused by viral infections");
  });

  it("importing the root from the install loads no framework and no native addon", () => {
    const probe = `import { createRequire } from "node:module";
const t = performance.now();
await import(${JSON.stringify(manifest.name)});
const ms = performance.now() - t;
const loaded = Object.keys(createRequire(import.meta.url).cache);
process.stdout.write(JSON.stringify({ ms, loaded }));`;
    writeFileSync(join(install, "probe.mjs"), probe);
    const { ms, loaded } = JSON.parse(run(process.execPath, ["probe.mjs"], install).stdout) as { ms: number; loaded: string[] };
    expect(loaded.filter((p) => /node_modules\/(onnxruntime-node|hnswlib-node|echarts|ai|@ai-sdk|@langchain|@llamaindex|fastify)\//.test(p))).toEqual([]);
    // Reported, not asserted: speed targets live in benchmarks, not in timed unit tests.
    console.log(`import("${manifest.name}") from the installed package: ${ms.toFixed(0)} ms`);
  });
});
