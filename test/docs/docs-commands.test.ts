/**
 * The docs test's own checks: every documentation page is covered by a page suite
 * (docs-commands.<page>.test.ts, which run the snippets), the table in docs-plan.ts
 * matches the docs as they are, the extraction reads Markdown the way a reader does,
 * and the harness really fails a snippet that fails.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { repoRoot } from "../support/shared-datasets.js";
import { PageRun } from "./docs-harness.js";
import { documentationPages, extractPage, extractSnippets, splitShellCommands, type Snippet } from "./markdown-snippets.js";
import { PLANS, planPage, simpleCommands, unknownProgram, type CommandStep, type PagePlan, type TypeScriptStep } from "./docs-plan.js";

const pages = documentationPages(repoRoot);
const suiteFile = (page: string) => join(repoRoot, "test/docs", `docs-commands.${page === "README.md" ? "readme" : page.replace(/^docs\//, "").replace(/\.md$/, "")}.test.ts`);

describe("every documentation page is run by the docs test", () => {
  it("each README/docs page has a row in docs-plan.ts and a page suite that runs it", () => {
    const missing = pages.flatMap((page) => [
      ...(PLANS[page] ? [] : [`${page}: no row in test/docs/docs-plan.ts PLANS`]),
      ...(existsSync(suiteFile(page)) && readFileSync(suiteFile(page), "utf8").includes(`describeDocsPage("${page}")`) ? [] : [`${page}: no ${suiteFile(page)} calling describeDocsPage("${page}")`]),
    ]);
    expect(missing).toEqual([]);
  });

  it("no row or page suite is left for a page that is gone", () => {
    const suites = readdirSync(join(repoRoot, "test/docs")).filter((f) => /^docs-commands\..+\.test\.ts$/.test(f));
    expect(Object.keys(PLANS).filter((p) => !pages.includes(p))).toEqual([]);
    expect(suites.filter((f) => !pages.some((p) => suiteFile(p).endsWith(`/${f}`)))).toEqual([]);
  });

  it.each(pages)("%s: every snippet is run or excluded with a reason, and every row still matches the page", (page) => {
    expect(planPage(page, extractPage(repoRoot, page)).problems).toEqual([]);
  });

  it.each(pages)("%s: every YAML excerpt parses", (page) => {
    const bad = extractPage(repoRoot, page)
      .filter((s) => s.kind === "fragment")
      .flatMap((s) => {
        try {
          parseYaml(s.text);
          return [];
        } catch (err) {
          return [`${page}:${s.line}: ${(err as Error).message}`];
        }
      });
    expect(bad).toEqual([]);
  });
});

describe("extracting snippets from Markdown", () => {
  const md = [
    "Intro.",
    "",
    "```bash",
    "# Build it (a heading comment)",
    "npx winnow index --dataset d --out /tmp/x.idx   # BM25 index",
    "npx winnow eval --dataset d \\",
    "  --reranker learned --candidates 20",
    "curl -s localhost:8080/v1/rerank -d '{",
    '  "query": "a # not a comment"',
    "}'",
    "HF_HUB_OFFLINE=1 winnow rerank --model org/name -q x",
    "# → winnow: model org/name@main is not in the cache",
    "cat > /tmp/d.jsonl <<'EOF'",
    '{"id":"a","text":"x # y"}',
    "EOF",
    "```",
    "",
    "```",
    "run  ndcg_cut_10",
    "bm25 0.6789",
    "```",
    "",
    "`hybrid.yaml`:",
    "",
    "```yaml",
    "retrievers: []",
    "```",
    "",
    "A fragment:",
    "",
    "```yaml",
    "reranker: { type: learned }",
    "```",
    "",
    "```",
    "$ npx tsx bench/fusion.ts --quick",
    "variant pairs/s",
    "```",
    "",
    "```python",
    "print(1)",
    "```",
  ].join("\n");
  const snippets = extractSnippets("x.md", md);
  const commands = snippets.filter((s) => s.kind === "command");

  it("splits logical commands: continuations joined, comments dropped, quoted newlines and here-documents kept, lines numbered", () => {
    expect(commands.map((c) => [c.line, c.text])).toEqual([
      [5, "npx winnow index --dataset d --out /tmp/x.idx"],
      [6, "npx winnow eval --dataset d --reranker learned --candidates 20"],
      [8, `curl -s localhost:8080/v1/rerank -d '{\n  "query": "a # not a comment"\n}'`],
      [11, "HF_HUB_OFFLINE=1 winnow rerank --model org/name -q x"],
      [13, `cat > /tmp/d.jsonl <<'EOF'\n{"id":"a","text":"x # y"}\nEOF`],
      [36, "npx tsx bench/fusion.ts --quick"],
    ]);
    expect(commands[0].notes).toEqual(["BM25 index"]);
    expect(commands[3].notes).toEqual(["→ winnow: model org/name@main is not in the cache"]);
  });

  it("tells files named by the text from excerpts and outputs, and ties an output block to the command above it", () => {
    const kinds = snippets.filter((s) => s.kind !== "command").map((s) => [s.kind, s.line, s.fileName ?? s.outputOf?.line ?? null]);
    expect(kinds).toEqual([
      ["output", 19, 13],
      ["file", 26, "hybrid.yaml"],
      ["fragment", 32, null],
      ["output", 36, null],
      ["unknown", 41, null],
    ]);
  });

  it("keeps a backslash inside quotes and an escaped quote inside double quotes", () => {
    expect(splitShellCommands(['echo "a \\" # b" c # d'], 1)).toEqual([{ text: 'echo "a \\" # b" c', line: 1, notes: ["d"] }]);
  });
});

describe("planning a page", () => {
  const snippet = (kind: Snippet["kind"], line: number, text: string, extra: Partial<Snippet> = {}): Snippet => ({ kind, page: "x.md", line, lang: "", text, notes: [], block: 0, ...extra });
  const empty: PagePlan = { services: [], substitutions: [], commands: [], typescript: [], files: [], fixtures: [] };

  it("names the programs of a command line and refuses ones the harness does not run", () => {
    expect(simpleCommands("A=1 B=2 npx winnow demo && ollama serve & curl -s 'x|y' | cat")).toEqual(["npx winnow demo", "ollama serve", "curl -s 'x|y'", "cat"]);
    expect(unknownProgram("npx winnow demo && curl -s localhost")).toBeUndefined();
    expect(unknownProgram("npm run models:generate -- --preset tiny-bert")).toBeUndefined();
    expect(unknownProgram("npm ci && npx winnow demo")).toBe("npm ci");
    expect(unknownProgram("apt-get install -y x")).toBe("apt-get");
  });

  it("fails on a snippet it cannot run, a file nobody reads and a row that matches nothing", () => {
    const plan: PagePlan = { ...empty, commands: [{ command: "npx winnow gone", exclude: true, why: "x" }], substitutions: [{ from: "PLACEHOLDER", to: "y", why: "x" }] };
    const { problems } = planPage("x.md", [snippet("command", 3, "llama-server -m m.gguf"), snippet("file", 5, "a: 1", { fileName: "c.yaml" }), snippet("unknown", 9, "print(1)", { lang: "python" })], plan);
    expect(problems).toEqual([
      expect.stringMatching(/^x\.md:3: `llama-server -m m.gguf` runs `llama-server`/),
      expect.stringMatching(/^x\.md:5: the page shows c\.yaml but no later snippet reads it/),
      expect.stringMatching(/^x\.md:9: a ```python block/),
      expect.stringMatching(/command rule `npx winnow gone` matches no command/),
      expect.stringMatching(/substitution PLACEHOLDER matches no snippet/),
    ]);
  });

  it("runs a server in the background and stops it before the next one and at the end of the page", () => {
    const { steps, excluded } = planPage(
      "x.md",
      [snippet("command", 1, "winnow serve --model m"), snippet("command", 2, "curl -s localhost:8080/health"), snippet("command", 3, "npm test"), snippet("command", 4, "winnow serve --model m --port 9")],
      { ...empty, commands: [{ command: "npm test", exclude: true, why: "recursion" }] },
    );
    expect(steps.map((s) => (s.kind === "stop" ? `stop ${s.of.snippet.line}` : `${s.kind} ${"snippet" in s ? s.snippet.line : ""}`))).toEqual(["command 1", "command 2", "stop 1", "command 4", "stop 4"]);
    expect(excluded.map((e) => [e.snippet.line, e.why])).toEqual([[3, "recursion"]]);
  });
});

describe("the harness fails a snippet that fails", () => {
  let run: PageRun;
  let http: Server;
  let url: string;
  const plan: PagePlan = { services: [], substitutions: [], commands: [], typescript: [], files: [], fixtures: [] };
  const command = (text: string, extra: Partial<CommandStep> = {}): CommandStep => ({
    kind: "command",
    snippet: { kind: "command", page: "synthetic.md", line: 7, lang: "bash", text, notes: [], block: 0 },
    serve: false,
    ...extra,
  });
  beforeAll(async () => {
    run = await PageRun.start("synthetic.md", plan);
    http = createServer((req, res) => res.writeHead(req.url === "/ok" ? 200 : 404, { "content-type": "application/json" }).end('{"message":"no such route"}'));
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await run?.close();
    await new Promise((r) => http?.close(r));
  });

  it("a winnow command that exits non-zero fails with the page and line, its status and its stderr", async () => {
    await expect(run.step(command("npx winnow search --index does-not-exist.idx x"))).rejects.toThrow(/^synthetic\.md:7: `npx winnow search --index does-not-exist\.idx x` exited 2[\s\S]*--- stderr ---\nwinnow: /);
  });

  it("curl fails on an HTTP error status, not only on a refused connection", async () => {
    await run.step(command(`curl -s ${url}/ok`));
    await expect(run.step(command(`curl -s ${url}/missing`))).rejects.toThrow(/exited 22[\s\S]*no such route/);
  });

  it("an output that lacks what the page shows below the command fails", async () => {
    const shown: Snippet = { kind: "output", page: "synthetic.md", line: 9, lang: "json", text: '{"results": [], "meta": {}}', notes: [], block: 1 };
    await run.step(command(`echo '{"results": [1], "meta": {}, "extra": 1}'`, { shownOutput: shown }));
    await expect(run.step(command(`echo '{"results": [1]}'`, { shownOutput: shown }))).rejects.toThrow(/lacks meta, which synthetic\.md:9 shows/);
    await expect(run.step(command("true", { shownOutput: shown }))).rejects.toThrow(/printed nothing/);
  });

  it("a documented failure must fail, with the documented message", async () => {
    const step = command("npx winnow search --index does-not-exist.idx x", { rule: { command: "", why: "shown failing", exitCode: "non-zero", output: /^winnow: .*does-not-exist/m } });
    await run.step(step);
    await expect(run.step(command("echo fine", { rule: { command: "", why: "shown failing", exitCode: "non-zero" } }))).rejects.toThrow(/exited 0[\s\S]*expected exit non-zero/);
  });

  it("a TypeScript snippet that throws fails; `from \"@winnow-rerank/winnow\"` and its subpaths are the source files package.json exports", async () => {
    const ts = (text: string): TypeScriptStep => ({ kind: "typescript", snippet: { kind: "typescript", page: "synthetic.md", line: 12, lang: "ts", text, notes: [], block: 2 } });
    await run.step(ts('import { reciprocalRankFusion } from "@winnow-rerank/winnow";\nif (typeof reciprocalRankFusion !== "function") throw new Error("not the library");'));
    await run.step(ts('import { createServer } from \'@winnow-rerank/winnow/server\';\nif (typeof createServer !== "function") throw new Error("not the server entry");'));
    await expect(run.step(ts('import { nothing } from "@winnow-rerank/winnow/internals";'))).rejects.toThrow(/imports "@winnow-rerank\/winnow\/internals", which package.json "exports" does not list/);
    await expect(run.step(ts('import { Bm25Index } from "@winnow-rerank/winnow";\nawait Bm25Index.load("does-not-exist.idx");'))).rejects.toThrow(/synthetic\.md:12: the TypeScript snippet[\s\S]*exited 1/);
  });
});
