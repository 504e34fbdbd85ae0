/**
 * Runs one documentation page's snippets the way a reader would, from source: each
 * page gets a folder that mirrors the repository root (so `examples/…`, `src/…` and
 * `../shared/…` resolve as the docs say, while what the commands write stays in the
 * folder), its own caches and port, and the fakes its plan names.
 *
 * `winnow` and `npx winnow` run the CLI from the checkout's src/, transpiled into the
 * page's folder when the page starts (so a stale dist/ cannot hide drift) by the esbuild
 * tsx itself uses, the same transform: under tsx's loader every process spends about a
 * second more starting (measured: 2.0 s of CPU for `--version` against 0.9 s), and the
 * docs start about 150 of them. Lines that say `npx tsx …` and the TypeScript snippets
 * run under tsx, as written. curl runs with --fail-with-body, so an HTTP error status
 * fails the snippet.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { CROSS_ENCODER_CATALOGUE } from "../../src/rerankers/cross-encoder/catalogue.js";
import { loadServerConfigFile, resolveServerConfig } from "../../src/server/config.js";
import { startFakeHub, type FakeHub } from "../models/hub-server.js";
import { startFakeChat } from "../support/fake-vendors/fake-chat-server.js";
import { startHarness, type HarnessServer } from "../support/fake-vendors/http-harness.js";
import { answerVendorRequest, startFakeVendor } from "../support/fake-vendors/rerank-vendors.js";
import { packageManifest, sourceOfSpecifier } from "../support/package-entries.js";
import { normalizeCommand, type Snippet } from "./markdown-snippets.js";
import { HUB_MODEL, planFor, substitute, type CommandStep, type PageContext, type PagePlan, type Step, type TypeScriptStep } from "./docs-plan.js";

/** `from "<name>"` or `from "<name>/<subpath>"` for the package's npm name (package.json), quotes either way. */
const PACKAGE_IMPORT = new RegExp(`(\\bfrom\\s+)(["'])(${packageManifest().name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}(?:\\/[\\w-]+)?)\\2`, "g");

const repoRoot = realpathSync(join(import.meta.dirname, "../.."));
const tsxLoader = import.meta.resolve("tsx");
const redirectSource = join(import.meta.dirname, "redirect-hosted-apis.ts");
/** Nothing listens here: a service a page did not ask for fails at once instead of reaching the network. */
const CLOSED = "http://127.0.0.1:9";
const COMMAND_TIMEOUT_MS = 240_000;
const READY_TIMEOUT_MS = 120_000;
const OUTPUT_CAP = 1 << 20;

/** Bash functions the page's commands run under: the CLI from source, curl that fails on HTTP errors. */
const PRELUDE = `set -o pipefail
winnow() { $DOCS_EXEC node --import "$DOCS_REDIRECT" "$DOCS_CLI" "$@"; }
npx() { case "$1" in winnow) shift; winnow "$@" ;; tsx) shift; $DOCS_EXEC node --import "$DOCS_TSX" --import "$DOCS_REDIRECT" "$@" ;; *) command npx "$@" ;; esac; }
curl() { command curl --fail-with-body --show-error --max-time 120 "$@"; }
`;

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

interface Background {
  step: CommandStep | TypeScriptStep;
  child: ChildProcess;
  out: { stdout: string; stderr: string };
  exited: Promise<ProcessResult>;
  done?: ProcessResult;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === "object" && addr ? addr.port : 0));
    });
  });
}

/** The environment a reader's shell would have: none of this machine's hub, Winnow or vendor settings. */
function readerEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (/^(HF_|HUGGINGFACE|WINNOW_|VITEST|NODE_OPTIONS$|NODE_ENV$|FORCE_COLOR$)/.test(k)) continue;
    if (/_API_KEY$|^CO_API_KEY$|^TEI_|^INFINITY_/.test(k)) continue;
    out[k] = v;
  }
  return out;
}

function collect(child: ChildProcess, started: number, timeoutMs: number | undefined): { out: { stdout: string; stderr: string }; exited: Promise<ProcessResult> } {
  const out = { stdout: "", stderr: "" };
  child.stdout?.on("data", (d: Buffer) => (out.stdout = (out.stdout + d.toString("utf8")).slice(-OUTPUT_CAP)));
  child.stderr?.on("data", (d: Buffer) => (out.stderr = (out.stderr + d.toString("utf8")).slice(-OUTPUT_CAP)));
  let timedOut = false;
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          killGroup(child, "SIGKILL");
        }, timeoutMs);
  const exited = new Promise<ProcessResult>((resolve) => {
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, ...out, ms: Date.now() - started, timedOut });
    });
  });
  return { out, exited };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // detached: the process leads its own group
  } catch {
    child.kill(signal);
  }
}

function tail(s: string, n = 3000): string {
  const t = s.trimEnd();
  return t.length > n ? `…${t.slice(-n)}` : t;
}

export function where(s: Snippet): string {
  return `${s.page}:${s.line}`;
}

function describeResult(r: ProcessResult): string {
  const status = r.timedOut ? `timed out after ${r.ms} ms` : r.signal ? `died of ${r.signal}` : `exited ${r.code}`;
  return `${status} in ${(r.ms / 1000).toFixed(1)} s\n--- stderr ---\n${tail(r.stderr) || "(empty)"}\n--- stdout ---\n${tail(r.stdout) || "(empty)"}`;
}

/** The esbuild that tsx depends on (hoisted or not), so the harness transpiles exactly as tsx would. */
interface Esbuild {
  build(options: Record<string, unknown>): Promise<unknown>;
}
async function loadEsbuild(): Promise<Esbuild> {
  const fromTsx = createRequire(createRequire(import.meta.url).resolve("tsx/package.json"));
  return (await import(pathToFileURL(fromTsx.resolve("esbuild")).href)) as Esbuild;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

/**
 * src/ → `<work>/src-js/` (one level below the mirrored root, like dist/, so paths the
 * code resolves from its own location, such as the generated-model cache, land where
 * they do from src/), and the redirect preload beside it.
 */
async function transpileSources(work: string): Promise<{ cli: string; redirect: string }> {
  const esbuild = await loadEsbuild();
  const common = { format: "esm", platform: "node", target: "node20", logLevel: "error" } as const;
  await esbuild.build({ ...common, entryPoints: sourceFiles(join(repoRoot, "src")), outbase: join(repoRoot, "src"), outdir: join(work, "src-js") });
  const redirect = join(work, ".docs-preload", "redirect-hosted-apis.mjs");
  await esbuild.build({ ...common, entryPoints: [redirectSource], outfile: redirect });
  return { cli: join(work, "src-js/cli/run.js"), redirect: pathToFileURL(redirect).href };
}

/** The catalogue's file names for the hub model (fp32 and every int8 variant it may ask for). */
function catalogueFiles(): string[] {
  const entry = CROSS_ENCODER_CATALOGUE.find((e) => e.id === HUB_MODEL);
  const names = new Set<string>();
  const walk = (v: unknown) => {
    if (typeof v === "string" && v.endsWith(".onnx")) names.add(v);
    else if (v && typeof v === "object") Object.values(v).forEach(walk);
  };
  walk(entry);
  return [...names];
}

export class PageRun {
  readonly env: Record<string, string>;
  private background?: Background;
  private servers: Array<{ close(): Promise<void> }> = [];
  private readonly results = new Map<Snippet, ProcessResult>();

  private constructor(
    readonly page: string,
    readonly plan: PagePlan,
    readonly ctx: PageContext,
    private readonly root: string,
    env: Record<string, string>,
  ) {
    this.env = env;
  }

  static async start(page: string, plan: PagePlan = planFor(page)): Promise<PageRun> {
    const root = mkdtempSync(join(tmpdir(), `winnow-docs-${page.replace(/\W+/g, "-")}-`));
    const work = join(root, "main");
    mkdirSync(work);
    // The repository root, mirrored: reads go to the checkout, writes stay here.
    for (const name of readdirSync(repoRoot)) {
      if (name === ".git" || name === "models" || name === "tmp") continue;
      symlinkSync(join(repoRoot, name), join(work, name));
    }
    mkdirSync(join(work, "models"));
    for (const name of readdirSync(join(repoRoot, "models"))) symlinkSync(join(repoRoot, "models", name), join(work, "models", name));
    mkdirSync(join(work, "tmp"));
    const shared = join(repoRoot, "../shared");
    if (existsSync(shared)) symlinkSync(realpathSync(shared), join(root, "shared"));
    const absTmp = join(root, "slash-tmp");
    mkdirSync(absTmp);
    const compiled = await transpileSources(work);

    const tinyBert = await ensureGeneratedModel("tiny-bert");
    const minilm = plan.generated?.includes("minilm-l6") ? await ensureGeneratedModel("minilm-l6") : "(minilm-l6 not generated for this page: add it to the plan's `generated`)";
    const servers: Array<{ close(): Promise<void> }> = [];
    const has = (s: string) => plan.services.includes(s as never);
    const cohereKey = "docs-test-cohere-key";
    let hub: FakeHub | undefined;
    if (has("hub")) {
      // The hub id's repo: the generated tiny-bert, its int8 graph under every int8 name the catalogue may ask for.
      const repo = join(root, "hub-repo");
      mkdirSync(join(repo, "onnx"), { recursive: true });
      for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "onnx/model.onnx", "onnx/model_quantized.onnx"]) {
        if (existsSync(join(tinyBert, f))) symlinkSync(join(tinyBert, f), join(repo, f));
      }
      for (const f of catalogueFiles()) {
        if (!existsSync(join(repo, f))) {
          mkdirSync(dirname(join(repo, f)), { recursive: true });
          symlinkSync(join(tinyBert, "onnx/model_quantized.onnx"), join(repo, f));
        }
      }
      hub = await startFakeHub(HUB_MODEL, repo);
      servers.push(hub);
    }
    const start = async <T extends HarnessServer>(want: boolean, make: () => Promise<T>): Promise<string> => {
      if (!want) return CLOSED;
      const s = await make();
      servers.push(s);
      return s.url;
    };
    const chat = await start(has("chat"), () => startFakeChat({ logprobs: true }));
    const cohere = await start(has("cohere"), () => startHarness((req) => answerVendorRequest(req.path === "/v1/rerank" ? "cohere-v1" : "cohere", req, { apiKey: cohereKey })));
    const tei = await start(has("tei"), () => startFakeVendor("tei"));
    const infinity = await start(has("infinity"), () => startFakeVendor("infinity"));
    const mixedbreadKey = "docs-test-mixedbread-key";
    const mixedbread = await start(has("mixedbread"), () => startFakeVendor("mixedbread", { apiKey: mixedbreadKey }));

    const ctx: PageContext = { work, absTmp, port: await freePort(), hub: hub?.endpoint ?? CLOSED, chat, cohere, tei, infinity, mixedbread, cohereKey, mixedbreadKey, tinyBert, minilm };
    const env: Record<string, string> = {
      ...readerEnv(),
      HF_HOME: join(work, ".hf"),
      WINNOW_CACHE: join(work, ".winnow-cache"),
      HF_ENDPOINT: ctx.hub,
      NO_COLOR: "1",
      DOCS_CLI: compiled.cli,
      DOCS_TSX: tsxLoader,
      DOCS_REDIRECT: compiled.redirect,
      // The providers' default endpoints (docs/hosted-and-llm.md's table): a hosted API, or a
      // self-hosted server's usual port, which on a shared machine may be someone else's.
      WINNOW_DOCS_REDIRECTS: JSON.stringify({
        "https://api.cohere.com": cohere,
        "https://api.jina.ai": CLOSED,
        "https://api.voyageai.com": CLOSED,
        "https://api.mixedbread.com": mixedbread,
        "https://api.openai.com": CLOSED,
        "https://huggingface.co": CLOSED,
        "http://127.0.0.1:8080": tei,
        "http://localhost:8080": tei,
        "http://127.0.0.1:7997": infinity,
        "http://127.0.0.1:11434": chat,
      }),
      ...plan.env?.(ctx),
    };
    const run = new PageRun(page, plan, ctx, root, env);
    run.servers = servers;
    return run;
  }

  /** Runs a shell command line in the page's folder (the page's env, plus `extra`). */
  private shell(command: string, extra: Record<string, string> = {}, timeoutMs = COMMAND_TIMEOUT_MS): Promise<ProcessResult> {
    const started = Date.now();
    const child = spawn("bash", ["-c", `${PRELUDE}\n${command}`], { cwd: this.ctx.work, env: { ...this.env, ...extra }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    return collect(child, started, timeoutMs).exited;
  }

  /** A path as a snippet names it: relative to the page's folder, or under the page's /tmp. */
  private pagePath(p: string): string {
    return p.startsWith("/tmp/") ? join(this.ctx.absTmp, p.slice("/tmp/".length)) : join(this.ctx.work, p);
  }

  /** The output of a command step that already ran (for later checks). */
  resultOf(s: Snippet): ProcessResult | undefined {
    return this.results.get(s);
  }

  async step(step: Step): Promise<void> {
    switch (step.kind) {
      case "fixture": {
        const path = this.pagePath(step.fixture.path);
        mkdirSync(dirname(path), { recursive: true });
        if (step.fixture.content) writeFileSync(path, step.fixture.content(this.ctx));
        else if (step.fixture.build) step.fixture.build(this.ctx);
        else if (step.fixture.copy) {
          for (const [to, from] of Object.entries(step.fixture.copy(this.ctx))) cpSync(from, this.pagePath(to), { recursive: true, dereference: true });
        }
        else if (step.fixture.command) {
          const r = await this.shell(step.fixture.command);
          if (r.code !== 0) throw new Error(`${this.page} fixture ${step.fixture.path}: \`${step.fixture.command}\` ${describeResult(r)}`);
        }
        if (!existsSync(path)) throw new Error(`${this.page} fixture ${step.fixture.path} was not made`);
        return;
      }
      case "export": {
        const line = substitute(step.snippet.text, this.plan, this.ctx);
        const r = await this.shell(`${line}\nprintf '%s' "$${step.name}"`);
        if (r.code !== 0) throw new Error(`${where(step.snippet)}: \`${line}\` ${describeResult(r)}`);
        this.env[step.name] = r.stdout;
        return;
      }
      case "file": {
        const path = join(this.ctx.work, step.snippet.fileName!);
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, substitute(step.snippet.text, this.plan, this.ctx) + "\n");
        if (step.rule?.check === "server-config") {
          try {
            resolveServerConfig(loadServerConfigFile(path), step.snippet.fileName);
          } catch (err) {
            throw new Error(`${where(step.snippet)}: ${step.snippet.fileName} as the page shows it is not a valid server config: ${(err as Error).message}`);
          }
        }
        return;
      }
      case "command":
        return step.serve ? this.startServe(step) : this.runCommand(step);
      case "typescript":
        return this.runTypeScript(step);
      case "stop":
        return this.stop(step.of);
    }
  }

  private commandLine(step: CommandStep): string {
    return substitute(step.snippet.text, this.plan, this.ctx);
  }

  private async runCommand(step: CommandStep): Promise<void> {
    const line = this.commandLine(step);
    const r = await this.shell(line, step.rule?.env?.(this.ctx));
    this.results.set(step.snippet, r);
    const expected = step.rule?.exitCode ?? 0;
    const head = `${where(step.snippet)}: \`${normalizeCommand(step.snippet.text)}\``;
    const ran = line === step.snippet.text ? "" : `\n(ran as: ${normalizeCommand(line)})`;
    const okExit = !r.timedOut && r.signal === null && (expected === "non-zero" ? r.code !== 0 : r.code === expected);
    if (!okExit) throw new Error(`${head} ${describeResult(r)}\nexpected exit ${expected}${ran}`);
    if (step.rule?.output && !step.rule.output.test(`${r.stdout}\n${r.stderr}`)) {
      throw new Error(`${head}: output does not match ${step.rule.output} (${step.rule.why})${ran}\n${describeResult(r)}`);
    }
    if (step.shownOutput) checkShownOutput(head, step.shownOutput, r);
  }

  private async startServe(step: CommandStep): Promise<void> {
    // The harness puts the server in the background itself (a trailing `&` would leave it orphaned).
    const line = this.commandLine(step).replace(/\s*&\s*$/, "");
    const started = Date.now();
    const child = spawn("bash", ["-c", `${PRELUDE}\n${line}`], {
      cwd: this.ctx.work,
      env: { ...this.env, ...step.rule?.env?.(this.ctx), DOCS_EXEC: "exec" }, // node replaces bash, so SIGTERM reaches the server
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    await this.watchBackground(step, child, started, `/ready`, line);
  }

  private async watchBackground(step: CommandStep | TypeScriptStep, child: ChildProcess, started: number, path: string, ran: string): Promise<void> {
    const { out, exited } = collect(child, started, undefined);
    const bg: Background = { step, child, out, exited };
    void exited.then((r) => (bg.done = r));
    this.background = bg;
    const url = `http://127.0.0.1:${this.ctx.port}${path}`;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (bg.done) throw new Error(`${where(step.snippet)}: exited before it was ready (${url})\n(ran as: ${normalizeCommand(ran)})\n${describeResult(bg.done)}`);
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${where(step.snippet)}: ${url} did not answer 200 within ${READY_TIMEOUT_MS} ms\n${tail(out.stderr)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  private async stop(of: CommandStep | TypeScriptStep): Promise<void> {
    const bg = this.background;
    if (!bg || bg.step !== of) throw new Error(`${where(of.snippet)}: was not running when the page moved on (its start failed)`);
    this.background = undefined;
    if (bg.done) throw new Error(`${where(of.snippet)}: stopped by itself while the page still used it\n${describeResult(bg.done)}`);
    killGroup(bg.child, "SIGTERM");
    const timer = setTimeout(() => killGroup(bg.child, "SIGKILL"), 30_000);
    const r = await bg.exited;
    clearTimeout(timer);
    // docs/server.md: on SIGTERM the server finishes what it accepted, releases the models and exits 0.
    if (of.kind === "command" && (r.code !== 0 || r.signal !== null)) {
      throw new Error(`${where(of.snippet)}: \`${normalizeCommand(of.snippet.text)}\` did not exit 0 on SIGTERM (docs/server.md, "Logs and shutdown")\n${describeResult(r)}`);
    }
  }

  private async runTypeScript(step: TypeScriptStep): Promise<void> {
    const dir = join(this.ctx.work, ".docs-snippets");
    mkdirSync(dir, { recursive: true });
    const base = join(dir, `${this.page.replace(/\W+/g, "-")}-L${step.snippet.line}`);
    // `from "<package name>"` and its subpaths (`…/server`…) become the source files the exports map builds them from.
    // Line k of the file is line (snippet.line + k - 1) of the page: nothing is prepended.
    let code = substitute(step.snippet.text, this.plan, this.ctx).replace(PACKAGE_IMPORT, (_match, from: string, _quote: string, specifier: string) => {
      const source = sourceOfSpecifier(specifier);
      if (!source) throw new Error(`${where(step.snippet)}: imports "${specifier}", which package.json "exports" does not list`);
      return `${from}"${pathToFileURL(source).href}"`;
    });
    const background = step.rule?.listens === "background";
    if (!background) code += "\nprocess.exit(0); // the snippet ran to its end; servers or sessions it left open do not keep it alive\n";
    writeFileSync(`${base}.mts`, code);
    const args = ["--import", tsxLoader, "--import", this.env.DOCS_REDIRECT];
    if (step.rule?.globals) {
      writeFileSync(`${base}.globals.mts`, step.rule.globals(this.ctx, step.snippet.text) + "\nexport {};\n");
      args.push("--import", pathToFileURL(`${base}.globals.mts`).href);
    }
    args.push(`${base}.mts`);
    const started = Date.now();
    const child = spawn("node", args, { cwd: this.ctx.work, env: this.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    if (background) return this.watchBackground(step, child, started, "/health", `node ${base}.mts`);
    const r = await collect(child, started, COMMAND_TIMEOUT_MS).exited;
    this.results.set(step.snippet, r);
    if (r.code !== 0 || r.timedOut || r.signal) {
      throw new Error(`${where(step.snippet)}: the TypeScript snippet (${base}.mts; its line 1 is page line ${step.snippet.line}) ${describeResult(r)}`);
    }
  }

  async close(): Promise<void> {
    if (this.background) {
      killGroup(this.background.child, "SIGKILL");
      await this.background.exited;
    }
    await Promise.all(this.servers.map((s) => s.close()));
    if (!process.env.WINNOW_DOCS_KEEP) rmSync(this.root, { recursive: true, force: true });
  }
}

/**
 * The page shows what the command prints right below it: the real output must not be
 * empty and must keep the shape shown (JSON: the same top-level fields; a table: the same
 * header line). Figures are not compared: they depend on the machine and the model.
 */
function checkShownOutput(head: string, shown: Snippet, r: ProcessResult): void {
  if (r.stdout.trim() === "") throw new Error(`${head}: printed nothing, where ${where(shown)} shows its output\n${describeResult(r)}`);
  let shownJson: unknown;
  try {
    shownJson = JSON.parse(shown.text);
  } catch {
    shownJson = undefined;
  }
  if (shownJson && typeof shownJson === "object" && !Array.isArray(shownJson)) {
    let actual: unknown;
    try {
      actual = JSON.parse(r.stdout);
    } catch {
      throw new Error(`${head}: ${where(shown)} shows JSON, but the output is not JSON\n${describeResult(r)}`);
    }
    const missing = Object.keys(shownJson).filter((k) => !(actual && typeof actual === "object" && k in actual));
    if (missing.length) throw new Error(`${head}: the output lacks ${missing.join(", ")}, which ${where(shown)} shows\n${describeResult(r)}`);
    return;
  }
  const header = shown.text.split("\n")[0];
  if (!header.includes("…") && !normalizeCommand(r.stdout).includes(normalizeCommand(header))) {
    throw new Error(`${head}: the output has no line "${normalizeCommand(header)}", which ${where(shown)} shows first\n${describeResult(r)}`);
  }
}
