/**
 * The reviewed table of how the docs test runs each page: what stands in for things
 * that cannot exist here (the model hub, hosted APIs, an LLM, the reader's own files),
 * which snippets are not run and why, and which results are promised. Everything not
 * named here runs as the page shows it. Each row must still match a snippet (a row that
 * matches nothing fails the test, so the table cannot outlive the docs it describes),
 * and a snippet the harness cannot run and no row excludes fails too.
 *
 * What every page gets without a row (docs-harness.ts): its own folder mirroring the
 * repository root, its own empty HF_HOME and WINNOW_CACHE; HF_ENDPOINT pointing at a fake
 * hub (test/models/hub-server.ts) that serves the generated tiny-bert as
 * cross-encoder/ms-marco-MiniLM-L-6-v2 (its int8 graph under every int8 file name the
 * catalogue may ask for), or at a closed port; the providers' default endpoints
 * (api.cohere.com…, 127.0.0.1:8080/7997/11434) redirected inside the processes it starts
 * to the page's fakes, or to a closed port, so nothing reaches the network or another
 * user's server; curl with --fail-with-body.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { normalizeCommand, type Snippet } from "./markdown-snippets.js";
import { writeSciFactSlice } from "./scifact-slice.js";

/** What the harness knows once a page's fakes and folders are up. */
export interface PageContext {
  /** The page's working folder: a mirror of the repository root (commands run here). */
  work: string;
  /** What `/tmp/` in the page becomes. */
  absTmp: string;
  /** The page's own free port, standing for the 8080 the docs use. */
  port: number;
  /** Base URLs of the fakes the page asked for (see PagePlan.services). */
  hub: string;
  chat: string;
  cohere: string;
  tei: string;
  infinity: string;
  mixedbread: string;
  /** Keys the fake hosted APIs accept. */
  cohereKey: string;
  mixedbreadKey: string;
  /** Generated model folders (ensureGeneratedModel's cache). */
  tinyBert: string;
  minilm: string;
}

type Value = string | ((c: PageContext) => string);

export interface Substitution {
  /** Text as the page has it (a string replaces every occurrence). */
  from: string | RegExp;
  to: Value;
  why: string;
}

export interface CommandRule {
  /** The command as the page shows it, whitespace collapsed, comments dropped. */
  command: string;
  why: string;
  exclude?: true;
  /** The exit status the page documents (default 0). */
  exitCode?: number | "non-zero";
  /** Text the page promises in the command's output (stdout or stderr). */
  output?: RegExp;
  /** Environment for this command only. */
  env?: (c: PageContext) => Record<string, string>;
}

export interface TypeScriptRule {
  /** A line of the snippet that tells it apart. */
  contains: string;
  why: string;
  exclude?: true;
  /** Code run before the snippet (a module of its own) that defines the names it uses but never declares, on globalThis. */
  globals?: (c: PageContext, snippet: string) => string;
  /** "background": it listens until stopped (the next snippets query it); "foreground": it takes the page's port and exits. */
  listens?: "background" | "foreground";
}

export interface FileRule {
  fileName: string;
  why: string;
  /** How a config file no command of the page reads is checked. */
  check: "server-config";
}

export interface Fixture {
  /** Path in the page's folder (or under the page's /tmp). */
  path: string;
  why: string;
  /** A command run there (from source, like the page's), the file's content, or files and folders to copy (page path → source). */
  command?: string;
  content?: (c: PageContext) => string;
  copy?: (c: PageContext) => Record<string, string>;
  /** Or made by code (a folder). */
  build?: (c: PageContext) => void;
  /** It reads ../shared/datasets. */
  needsShared?: true;
}

export type Service = "hub" | "chat" | "cohere" | "tei" | "infinity" | "mixedbread";

export interface PagePlan {
  services: Service[];
  /** Generated models the page needs besides tiny-bert (which the fake hub serves). */
  generated?: Array<"minilm-l6">;
  substitutions: Substitution[];
  commands: CommandRule[];
  typescript: TypeScriptRule[];
  files: FileRule[];
  fixtures: Fixture[];
  /** Environment for every snippet of the page. */
  env?: (c: PageContext) => Record<string, string>;
}

/** The hub id the docs use; the fake hub serves the generated tiny-bert under it. */
export const HUB_MODEL = "cross-encoder/ms-marco-MiniLM-L-6-v2";

/** Applied to every page, after the page's own substitutions. */
export const GLOBAL_SUBSTITUTIONS: Substitution[] = [
  {
    from: /(?<![\w.~-])\/tmp\//g,
    to: (c) => `${c.absTmp}/`,
    why: "absolute /tmp paths → the page's own folder, so pages running in parallel (and anyone else's /tmp) never share files",
  },
  {
    from: /(\bwinnow serve\b(?![^\n]*--port)[^\n]*)/g,
    to: (c) => `$1 --port ${c.port}`,
    why: "a `winnow serve` without --port gets the page's port: its default, 8080, may be taken on a shared machine",
  },
];

/** Names written as shorthand properties (`  revision, cacheDir, offline,`) in an object literal: the reader's own values. */
function shorthandNames(code: string): string[] {
  return [...code.matchAll(/^\s*((?:[A-Za-z_$][\w$]*\s*,\s*)+)(?:\/\/.*)?$/gm)].flatMap((m) => m[1].split(",").map((n) => n.trim()).filter(Boolean));
}

/** The first documents of the bundled SciFact sample (BEIR lines, which --docs reads), for commands that take the reader's docs.jsonl. */
function sampleDocuments(root: string, n: number): string[] {
  return readFileSync(join(root, "examples/scifact-mini/corpus.jsonl"), "utf8").split("\n").filter(Boolean).slice(0, n);
}

const repoRoot = join(import.meta.dirname, "../..");
const DOCS_JSONL: Fixture = {
  path: "docs.jsonl",
  why: "the reader's documents: the first 12 abstracts of examples/scifact-mini",
  content: () => sampleDocuments(repoRoot, 12).join("\n") + "\n",
};
const SLICE: Fixture = {
  path: "fixtures/scifact-slice",
  why: "a BEIR folder cut from SciFact (20 train and 10 test queries with their judgments; test/docs/scifact-slice.ts) for commands whose full-collection run costs minutes of CPU",
  build: (c) => writeSciFactSlice(join(c.work, "fixtures/scifact-slice"), join(c.work, "../shared/datasets/scifact"), join(c.work, "examples/scifact-mini")),
  needsShared: true,
};
/** The first 60 documents of the bundled sample, with the test queries judged on them. */
function writeColbertMini(out: string, from: string): void {
  const docs = readFileSync(join(from, "corpus.jsonl"), "utf8").split("\n").filter(Boolean).slice(0, 60);
  const ids = new Set(docs.map((l) => (JSON.parse(l) as { _id: string })._id));
  const [header, ...rows] = readFileSync(join(from, "qrels/test.tsv"), "utf8").split("\n").filter(Boolean);
  const kept = rows.filter((r) => ids.has(r.split("\t")[1]));
  const queries = new Set(kept.map((r) => r.split("\t")[0]));
  mkdirSync(join(out, "qrels"), { recursive: true });
  writeFileSync(join(out, "corpus.jsonl"), docs.join("\n") + "\n");
  writeFileSync(join(out, "queries.jsonl"), readFileSync(join(from, "queries.jsonl"), "utf8").split("\n").filter((l) => l && queries.has((JSON.parse(l) as { _id: string })._id)).join("\n") + "\n");
  writeFileSync(join(out, "qrels/test.tsv"), [header, ...kept].join("\n") + "\n");
}
const BUDGET = "budget: the full collection costs minutes of CPU here; the slice runs the same code path in seconds";
const port: Substitution = { from: /\b8080\b/g, to: (c) => String(c.port), why: "port 8080 → the page's own free port (8080 may be taken on a shared machine)" };
const BENCH = "a benchmark (minutes of timed runs on an otherwise idle machine); benchmarks are run on purpose (`npm run bench:*`), not inside `npm test`";

/** Part 21's pages: what needs a service the docs harness does not start, and the test that runs it instead. */
const PG = "needs the reader's PostgreSQL; test/retrieval/postgres runs pg init/load/bm25 and this eval against a PostgreSQL 15 it starts";
const REPLICAS = "needs the reader's model folder and a Redis at redis:6379; test/server/replicas.test.ts runs winnow serve replicas with --cache against a redis-server it starts";
const DOCKER = "Docker and Kubernetes cannot run here; test/deploy parses these files and checks them against the code";
const JOBS = "needs a Redis (the queue) and the reader's paths; test/jobs/jobs-kill.test.ts runs submit, three workers, status and results against a redis-server it starts";

export const PLANS: Record<string, PagePlan> = {
  "README.md": {
    services: ["hub", "chat", "cohere"],
    generated: ["minilm-l6"],
    substitutions: [
      {
        from: "ONNXRUNTIME_NODE_INSTALL=skip npm ci && npm run build && npx winnow demo",
        to: "npx winnow demo",
        why: "`npm ci` would reinstall node_modules under the running suite and `npm run build` rewrite the dist/ other processes use; the demo runs from source like every command here",
      },
      { from: "--qrels QRELS", to: "--qrels examples/scifact-mini/qrels/test.tsv", why: "QRELS is the reader's judgments: the bundled sample's" },
      { from: "--run RUN", to: "--run runs/bm25.run", why: "RUN is any run file: the BM25 run the fixture writes" },
      { from: "RUN_A RUN_B", to: "runs/bm25.run runs/learned.run", why: "RUN_A and RUN_B: the BM25 and learned runs the fixtures write" },
      {
        from: "--dataset DIR",
        to: "--dataset fixtures/scifact-slice",
        why: "DIR is the reader's BEIR folder: the SciFact slice, which has the train split these commands name and trains in seconds",
      },
      { from: "--base-url URL --model M", to: (c) => `--base-url ${c.chat}/v1 --model fake-llm`, why: "URL and M: an OpenAI-compatible endpoint and its model → the fake chat endpoint" },
      port,
    ],
    commands: [
      { command: "npm test", exclude: true, why: "the suite this test is part of" },
      { command: "npx winnow eval --dataset ../shared/datasets/scifact", output: /^bm25\s+0\.6789\b/m, why: "nDCG@10 0.6789, Anserini's published BM25 figure, promised to the fourth decimal" },
    ],
    typescript: [],
    files: [],
    // The reader's Cohere key, which the CLI tour's cohere line assumes is set: the fake Cohere's.
    env: (c) => ({ COHERE_API_KEY: c.cohereKey }),
    fixtures: [
      DOCS_JSONL,
      SLICE,
      {
        path: "/tmp/minilm",
        why: "the CLI tour serves /tmp/minilm before the offline section below generates it: a copy of the same preset from the generated-model cache",
        copy: (c) => ({ "/tmp/minilm": c.minilm }),
      },
      { path: "runs/bm25.run", why: "a run file for RUN / RUN_A, made as docs/evaluation.md makes one", command: "winnow eval --dataset examples/scifact-mini --depth 100 --run-out runs/bm25.run" },
      { path: "runs/learned.run", why: "a second run for RUN_B", command: "winnow eval --dataset examples/scifact-mini --depth 100 --reranker learned --run-out runs/learned.run" },
    ],
  },

  "docs/api.md": {
    services: [],
    substitutions: [],
    commands: [],
    typescript: [],
    files: [],
    fixtures: [],
  },

  "docs/bm25-index-format.md": {
    services: [],
    substitutions: [],
    commands: [],
    typescript: [],
    files: [],
    fixtures: [],
  },

  "docs/bm25.md": {
    services: [],
    substitutions: [{ from: "--index my.idx", to: "--index /tmp/scifact-mini.idx", why: "my.idx is the reader's index: the one the page built above" }],
    commands: [
      { command: "apt-get install -y liblucene8-java", exclude: true, why: "installs Debian's Lucene 8 and Java as root; the page marks it dev-only (CI never needs Java)" },
      { command: "npx tsx scripts/bm25/compare-with-lucene.ts ../shared/datasets/scifact", exclude: true, why: "runs Lucene 8 under Java (the apt-get above), which CI does not have" },
      { command: "npx tsx scripts/bm25/compare-scores-with-lucene.ts ../shared/datasets/scifact 1000", exclude: true, why: "runs Lucene 8 under Java, which CI does not have" },
      { command: "npx tsx scripts/bm25/compare-rm3-with-lucene.ts ../shared/datasets/cranfield 1000", exclude: true, why: "runs Lucene 8 under Java, which CI does not have" },
      { command: "npx tsx scripts/bm25/compare-rm3-with-lucene.ts ../shared/datasets/cisi 1000 5 20 0.3", exclude: true, why: "runs Lucene 8 under Java, which CI does not have" },
      { command: "npm run bench:bm25", exclude: true, why: BENCH },
      { command: "npm run bench:bm25 -- --quick", exclude: true, why: BENCH },
      { command: "npm run bench:bm25 -- --dataset ../shared/datasets/cranfield", exclude: true, why: BENCH },
    ],
    typescript: [],
    files: [],
    fixtures: [],
  },

  "docs/colbert.md": {
    services: ["hub"],
    substitutions: [],
    commands: [
      { command: 'pip install "colbert-export @ git+https://github.com/lightonai/lategrep.git#subdirectory=onnx/python"', exclude: true, why: "installs LightOn's Python exporter from GitHub (no network here; PyTorch and transformers besides)" },
      { command: "colbert-export lightonai/GTE-ModernColBERT-v1 -o ./models", exclude: true, why: "downloads the checkpoint from the model hub, which is not reachable" },
      { command: "npx winnow index --dataset fixtures/colbert-mini --out /tmp/colbert-idx --colbert /tmp/colbert", output: /colbert: \d+ token vectors of 60 documents \(32 dims, fp16/, why: "the store's summary line" },
      { command: "npx winnow eval --dataset fixtures/colbert-mini --index /tmp/colbert-idx --reranker colbert --model /tmp/colbert --candidates 20", output: /document vectors read from .*colbert-idx\/colbert \(fp16, 60 documents\): no document is re-encoded/, why: "eval says it uses the stored vectors" },
    ],
    typescript: [],
    files: [],
    fixtures: [
      DOCS_JSONL,
      {
        path: "fixtures/colbert-mini",
        why: "a 60-document BEIR folder cut from examples/scifact-mini (the queries judged on those documents), so a tiny ColBERT store builds in seconds",
        build: (c) => writeColbertMini(join(c.work, "fixtures/colbert-mini"), join(c.work, "examples/scifact-mini")),
      },
    ],
  },

  "docs/cross-encoder.md": {
    services: ["hub"],
    substitutions: [
      { from: "./models/ms-marco-MiniLM-L-6-v2", to: (c) => c.tinyBert, why: "a folder in the Hugging Face layout the reader has: the generated tiny-bert" },
      { from: "--dataset ../shared/datasets/scifact --split train --out calib.json", to: "--dataset fixtures/scifact-slice --split train --out calib.json", why: BUDGET },
      {
        from: '-q "glioma stem cells" --docs examples/scifact-mini/corpus.jsonl -n 5',
        to: '-q "glioma stem cells" --docs docs.jsonl -n 5',
        why: "budget: all 683 abstracts of the sample take about 30 s of CPU through the cross-encoder; the first 12 (docs.jsonl) run the same code",
      },
    ],
    commands: [
      {
        command: `HF_HUB_OFFLINE=1 npx tsx src/cli/run.ts rerank --model ${HUB_MODEL} -q x --docs examples/scifact-mini/corpus.jsonl`,
        exitCode: "non-zero",
        output: /^winnow: model cross-encoder\/ms-marco-MiniLM-L-6-v2@main is not in the cache and offline mode is on \(looked in /m,
        env: (c) => ({ HF_HOME: join(c.work, ".hf-empty"), WINNOW_CACHE: join(c.work, ".winnow-empty") }),
        why: "the page shows it failing on a machine with nothing cached; this page's cache already holds the model pulled above, so it runs with empty caches",
      },
    ],
    typescript: [
      {
        contains: "new CrossEncoderReranker({",
        globals: (c, snippet) =>
          `const { CrossEncoderReranker } = await import(${JSON.stringify(join(repoRoot, "src/index.ts"))});\n` +
          `Object.assign(globalThis, { ${shorthandNames(snippet).map((n) => `${n}: undefined`).join(", ")} }, { CrossEncoderReranker, model: ${JSON.stringify(c.tinyBert)} });`,
        why: "an options reference without its import: its shorthand names stand for the reader's values (model → the generated tiny-bert, the others undefined), so it runs the constructor on every value the page shows",
      },
    ],
    files: [],
    fixtures: [DOCS_JSONL, SLICE],
  },

  "docs/evaluation.md": {
    services: [],
    substitutions: [
      {
        from: "--dataset examples/scifact-mini --reranker cross-encoder --model tmp/tiny-bert",
        to: "--dataset fixtures/scifact-slice --reranker cross-encoder --model tmp/tiny-bert",
        why: "budget: the sample's 300 queries × 20 candidates are 6,000 cross-encoder pairs (about 90 s of CPU); the slice's 30 test queries run the same code path",
      },
    ],
    commands: [{ command: "winnow eval --dataset ../shared/datasets/scifact", output: /^bm25\s+0\.6789\b/m, why: "the page promises Anserini's BM25 figures to the fourth decimal" }],
    typescript: [],
    files: [],
    fixtures: [
      SLICE,
      {
        path: "tmp/reranked.run",
        why: "the page compares tmp/reranked.run with tmp/bm25.run but never writes it; made the way it writes tmp/bm25.run, reranked",
        command: "winnow eval --dataset examples/scifact-mini --depth 100 --reranker learned --run-out tmp/reranked.run",
      },
    ],
  },

  "docs/frameworks.md": {
    services: [],
    substitutions: [],
    commands: [],
    typescript: [],
    files: [],
    fixtures: [],
  },

  "docs/hosted-and-llm.md": {
    services: ["chat", "cohere", "tei", "infinity"],
    substitutions: [
      { from: "COHERE_API_KEY=…", to: (c) => `COHERE_API_KEY=${c.cohereKey}`, why: "the key the fake Cohere accepts" },
      { from: "http://127.0.0.1:11434/v1", to: (c) => `${c.chat}/v1`, why: "Ollama → the fake OpenAI-compatible chat endpoint" },
      { from: "http://127.0.0.1:8080/v1", to: (c) => `${c.chat}/v1`, why: "llama.cpp's server → the fake chat endpoint (it returns log-probabilities, as llama.cpp does)" },
      { from: "http://127.0.0.1:8080", to: (c) => c.tei, why: "TEI → the fake TEI" },
      { from: "http://127.0.0.1:7997", to: (c) => c.infinity, why: "Infinity → the fake Infinity" },
      { from: "--dataset ../shared/datasets/scifact --reranker cohere", to: "--dataset fixtures/scifact-slice --reranker cohere", why: BUDGET },
      { from: "--dataset ../shared/datasets/scifact --reranker llm", to: "--dataset fixtures/scifact-slice --reranker llm", why: BUDGET },
      { from: "--dataset ../shared/datasets/scifact --split train", to: "--dataset fixtures/scifact-slice --split train", why: `${BUDGET} (label, then train on its labels)` },
    ],
    commands: [
      { command: "ollama serve & ollama pull qwen2.5:7b", exclude: true, why: "starts Ollama and downloads a 7B model; neither exists here (the fake chat endpoint stands in for the server)" },
      { command: "llama-server -m qwen2.5-7b-instruct-q4_k_m.gguf --port 8080 &", exclude: true, why: "starts llama.cpp on a model file that does not exist here (the fake chat endpoint stands in for it)" },
    ],
    typescript: [
      {
        contains: "const ranked = await llm.rerank(",
        globals: () => `globalThis.candidates = ${JSON.stringify(sampleDocuments(repoRoot, 12).map((l) => (JSON.parse(l) as { text: string }).text))};`,
        why: "`candidates` is the reader's first-stage results: 12 SciFact-mini abstracts",
      },
    ],
    files: [],
    fixtures: [DOCS_JSONL, SLICE],
    env: (c) => ({ COHERE_API_KEY: c.cohereKey }),
  },

  "docs/finetune.md": {
    services: ["chat"],
    substitutions: [
      { from: "--base-url URL --model M", to: (c) => `--base-url ${c.chat}/v1 --model fake-llm`, why: "URL and M: the reader's OpenAI-compatible endpoint and model → the fake chat endpoint" },
      { from: "npx winnow eval --dataset examples/scifact-mini", to: "npx winnow eval --dataset fixtures/scifact-slice", why: BUDGET },
    ],
    commands: [
      { command: "apt-get install python3-torch", exclude: true, why: "installs a system package (CI's scripts/install-services.sh installs python3-torch)" },
    ],
    typescript: [],
    files: [],
    fixtures: [SLICE],
  },

  "docs/learned.md": {
    services: [],
    substitutions: [
      { from: "--dataset DIR", to: "--dataset examples/scifact-mini", why: "DIR is the reader's BEIR folder: the bundled SciFact sample" },
      { from: "--qrels labels.tsv", to: "--qrels examples/scifact-mini/qrels/test.tsv", why: "labels.tsv comes from `winnow label` as BEIR qrels: the sample's judgments stand in" },
      {
        from: "../shared/datasets/cranfield --split test --cv 5",
        to: "fixtures/scifact-slice --split test --cv 5",
        why: "budget: nested 5-fold CV takes 1–5 minutes on Cranfield (the page says so); on the slice's test split it takes seconds",
      },
      { from: "--dataset ../shared/datasets/scifact --split train --out my-model.json", to: "--dataset fixtures/scifact-slice --split train --out my-model.json", why: BUDGET },
    ],
    commands: [
      { command: "npx tsx scripts/train-default-model.ts --loco", exclude: true, why: "trains four models on the four full collections (1,145 queries, every feature): a minute or more of CPU; its figures are in models/learned-default.json, which a test checks" },
    ],
    typescript: [
      {
        contains: "await Bm25Index.build(docs)",
        globals: () =>
          `globalThis.docs = ${JSON.stringify(sampleDocuments(repoRoot, 200).map((l) => {
            const d = JSON.parse(l) as { _id: string; title: string; text: string };
            return { id: d._id, title: d.title, text: d.text };
          }))};`,
        why: "`docs` is the reader's documents: 200 SciFact-mini abstracts",
      },
    ],
    files: [],
    fixtures: [
      SLICE,
      {
        path: "my-model.json",
        why: "the page uses my-model.json (Try it, Library) before its Training section writes it: the shipped model, which `winnow train` writes in the same format",
        copy: () => ({ "my-model.json": join(repoRoot, "models/learned-default.json") }),
      },
    ],
  },

  "docs/onnx-tools.md": {
    services: [],
    substitutions: [
      {
        from: "--fidelity --queries 10 --docs 100",
        to: "--fidelity --queries 2 --docs 20",
        why: "budget: 1,000 pairs through both graphs take about 40 s of CPU here; 40 pairs run the same check",
      },
    ],
    commands: [{ command: "npx tsx bench/fusion.ts --pairs 24 --rounds 3 --threads 1", exclude: true, why: BENCH }],
    typescript: [],
    files: [],
    fixtures: [
      {
        path: "model.onnx",
        why: "model.onnx is the reader's graph, beside its model folder's tokenizer files (which --fidelity reads): the generated tiny-bert's",
        copy: (c) => ({
          "model.onnx": join(c.tinyBert, "onnx/model.onnx"),
          ...Object.fromEntries(["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"].map((f) => [f, join(c.tinyBert, f)])),
        }),
      },
    ],
  },

  "docs/pipelines.md": {
    services: ["hub"],
    substitutions: [
      port,
      { from: "--dataset ../shared/datasets/scifact --split train --reranker learned --format json", to: "--dataset fixtures/scifact-slice --split train --reranker learned --format json", why: BUDGET },
    ],
    commands: [],
    typescript: [],
    files: [],
    fixtures: [SLICE],
  },

  "docs/rerankers.md": {
    services: ["chat", "infinity", "mixedbread"],
    substitutions: [
      port,
      { from: "MXBAI_API_KEY=…", to: (c) => `MXBAI_API_KEY=${c.mixedbreadKey}`, why: "the key the fake Mixedbread accepts" },
      { from: "http://127.0.0.1:11434/v1", to: (c) => `${c.chat}/v1`, why: "Ollama → the fake OpenAI-compatible chat endpoint" },
      { from: "http://127.0.0.1:7997", to: (c) => c.infinity, why: "Infinity → the fake Infinity (the CLI line without --base-url reaches it through the redirect of its default URL)" },
    ],
    commands: [
      { command: "infinity_emb v2 --model-id mixedbread-ai/mxbai-rerank-xsmall-v1 --port 7997 &", exclude: true, why: "starts Infinity, which does not exist here (the fake Infinity stands in for it)" },
      { command: "ollama serve & ollama pull qwen2.5:7b", exclude: true, why: "starts Ollama and downloads a 7B model; neither exists here (the fake chat endpoint stands in for the server)" },
    ],
    typescript: [],
    files: [],
    fixtures: [],
    env: (c) => ({ MXBAI_API_KEY: c.mixedbreadKey }),
  },

  "docs/retrievers-external.md": {
    services: [],
    substitutions: [],
    commands: [
      {
        command: `npx winnow eval --dataset ./my-collection --retriever '{"type":"elasticsearch","node":"https://search.internal:9200","index":"articles","fields":["title","body"],"sourceFields":{"text":"body","title":"title"},"auth":{"apiKeyEnv":"ES_API_KEY"}}' --reranker cross-encoder --model ./models/minilm`,
        exclude: true,
        why: "needs the reader's Elasticsearch cluster; test/retrieval/elasticsearch runs the same retriever against a node speaking the documented JSON",
      },
      { command: "npx winnow pg init --table scifact --bm25", exclude: true, why: PG },
      { command: "npx winnow pg load --table scifact --dataset ../shared/datasets/scifact", exclude: true, why: PG },
      {
        command: `npx winnow eval --dataset ../shared/datasets/scifact --retriever '{"type":"postgres","connectionEnv":"WINNOW_PG_URL","table":"scifact","titleColumn":"title","tsvectorColumn":"tsv","ranking":"bm25"}'`,
        exclude: true,
        why: PG,
      },
      { command: "npx winnow pg bm25 --table articles --id-column article_id --text-columns body --title-column headline", exclude: true, why: PG },
    ],
    typescript: [],
    files: [],
    fixtures: [],
  },

  "docs/deploy.md": {
    services: [],
    substitutions: [],
    commands: [
      { command: "npx winnow serve --model ./models/minilm --cache redis://redis:6379/0 --cache-ttl 86400", exclude: true, why: REPLICAS },
      { command: "docker build -f deploy/Dockerfile -t winnow .", exclude: true, why: DOCKER },
      { command: "docker compose -f deploy/compose.yaml up --build", exclude: true, why: DOCKER },
      { command: "kubectl apply -f deploy/kubernetes/", exclude: true, why: DOCKER },
      { command: "npx winnow jobs submit eval --dataset /datasets/scifact --reranker cross-encoder --model /models/reranker --candidates 100 --chunk-size 50", exclude: true, why: JOBS },
      { command: "npx winnow worker --concurrency 1", exclude: true, why: JOBS },
      { command: "npx winnow jobs status 3f2a9c0d1e4b5a67", exclude: true, why: JOBS },
      { command: "npx winnow jobs results 3f2a9c0d1e4b5a67 --out runs/scifact-ce.run", exclude: true, why: JOBS },
    ],
    typescript: [],
    files: [],
    fixtures: [],
  },

  "docs/server.md": {
    services: [],
    substitutions: [port],
    commands: [
      { command: "npm run build", exclude: true, why: "rewrites the dist/ other processes run from; every command here runs from source instead, as the page's own comment allows" },
      { command: "npm run bench:server", exclude: true, why: BENCH },
      { command: "npm run bench:server -- --quick", exclude: true, why: BENCH },
      { command: "npm run bench:server -- --dtype fp32 --duration 30 --queue 1600 --concurrency 1,8,32", exclude: true, why: BENCH },
      { command: "npm run bench:server -- --docs 20 --peak 8 --duration 15 --rounds 4", exclude: true, why: BENCH },
    ],
    typescript: [
      {
        contains: "await startServer(",
        listens: "foreground",
        globals: () => `const { createReranker } = await import(${JSON.stringify(join(repoRoot, "src/index.ts"))}); globalThis.myRerankerInstance = await createReranker({ type: "learned" });`,
        why: "`myRerankerInstance` is the reader's Reranker: the learned one",
      },
    ],
    files: [
      {
        fileName: "server.yaml",
        check: "server-config",
        why: "no command of the page starts it (it names a key file under /run/secrets, a hub model this machine cannot fetch and an LLM on :11434); it is read and validated as `winnow serve --config` does before loading models",
      },
    ],
    fixtures: [],
  },
};

export function planFor(page: string): PagePlan {
  const plan = PLANS[page];
  if (!plan) throw new Error(`${page}: no row in test/docs/docs-plan.ts PLANS (every README/docs page needs one, even an empty one)`);
  return plan;
}

// ---------------------------------------------------------------------------------------------
// Steps: what the page's test does, in page order.

export interface CommandStep {
  kind: "command";
  snippet: Snippet;
  rule?: CommandRule;
  /** `winnow serve`: started in the background, ready when /ready answers 200. */
  serve: boolean;
  /** The command's output is shown right below it: stdout must not be empty (and keep the shown shape). */
  shownOutput?: Snippet;
}
export interface ExportStep {
  kind: "export";
  snippet: Snippet;
  name: string;
}
export interface TypeScriptStep {
  kind: "typescript";
  snippet: Snippet;
  rule?: TypeScriptRule;
}
export interface FileStep {
  kind: "file";
  snippet: Snippet;
  rule?: FileRule;
}
export interface StopStep {
  kind: "stop";
  /** The step that started the background process. */
  of: CommandStep | TypeScriptStep;
}
export interface FixtureStep {
  kind: "fixture";
  fixture: Fixture;
}
export type Step = CommandStep | ExportStep | TypeScriptStep | FileStep | StopStep | FixtureStep;

export interface PagePlanResult {
  steps: Step[];
  /** Snippets nobody runs or excludes, rows that match nothing: each a line naming where. */
  problems: string[];
  excluded: Array<{ snippet: Snippet; why: string }>;
}

/** Programs the harness runs as they are (winnow and npx winnow/tsx from source). */
const PROGRAMS = new Set(["winnow", "curl", "echo", "export", "cat", "sleep"]);

/** The simple commands of a command line (split at && || ; | & outside quotes), each without leading VAR=value assignments. */
export function simpleCommands(command: string): string[] {
  const parts: string[] = [];
  let cur = "";
  let quote: string | null = null;
  for (let i = 0; i < command.length; i++) {
    const c = command[i];
    if (quote) {
      if (c === quote) quote = null;
      cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      cur += c;
    } else if (c === "&" || c === "|" || c === ";") {
      if (command[i + 1] === c) i++;
      parts.push(cur);
      cur = "";
    } else cur += c;
  }
  parts.push(cur);
  return parts.map((p) => p.trim().replace(/^(?:[A-Za-z_]\w*=\S*\s+)+/, "")).filter(Boolean);
}

function packageScripts(): Set<string> {
  const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { scripts?: Record<string, string> };
  return new Set(Object.keys(pkg.scripts ?? {}));
}

/** Why the harness cannot run a command as shown (an unknown program), or undefined when it can. */
export function unknownProgram(command: string): string | undefined {
  const scripts = packageScripts();
  for (const simple of simpleCommands(command)) {
    const [program, first, second] = simple.split(/\s+/);
    if (PROGRAMS.has(program)) continue;
    if (program === "npx" && (first === "winnow" || first === "tsx")) continue;
    if (program === "npm" && first === "run" && scripts.has(second)) continue;
    return program === "npm" || program === "npx" ? `${program} ${first ?? ""}`.trim() : program;
  }
  return undefined;
}

/** Stand-ins for the values a page gets at run time, to see what a substituted command runs before anything starts. */
const STATIC_CONTEXT: PageContext = {
  work: "<work>",
  absTmp: "<tmp>",
  port: 0,
  hub: "<hub>",
  chat: "<chat>",
  cohere: "<cohere>",
  tei: "<tei>",
  infinity: "<infinity>",
  mixedbread: "<mixedbread>",
  cohereKey: "<key>",
  mixedbreadKey: "<key>",
  tinyBert: "<tiny-bert>",
  minilm: "<minilm-l6>",
};

function label(s: Snippet): string {
  return `${s.page}:${s.line}`;
}

/** Every occurrence count of each substitution in the snippets it may touch. */
function substitutionUses(sub: Substitution, snippets: Snippet[]): number {
  return snippets.filter((s) => (typeof sub.from === "string" ? s.text.includes(sub.from) : new RegExp(sub.from.source, sub.from.flags.replace("g", "")).test(s.text))).length;
}

export function planPage(page: string, snippets: Snippet[], plan: PagePlan = planFor(page)): PagePlanResult {
  const steps: Step[] = plan.fixtures.map((fixture) => ({ kind: "fixture", fixture }) as FixtureStep);
  const problems: string[] = [];
  const excluded: PagePlanResult["excluded"] = [];
  const usedCommands = new Set<CommandRule>();
  const usedTs = new Set<TypeScriptRule>();
  const usedFiles = new Set<FileRule>();
  let background: CommandStep | TypeScriptStep | undefined;
  const stopBackground = () => {
    if (background) steps.push({ kind: "stop", of: background });
    background = undefined;
  };
  const run: Snippet[] = [];
  const lastByCommand = new Map<Snippet, CommandStep>();

  for (const s of snippets) {
    switch (s.kind) {
      case "command": {
        const rule = plan.commands.find((r) => r.command === normalizeCommand(s.text));
        if (rule) usedCommands.add(rule);
        if (rule?.exclude) {
          excluded.push({ snippet: s, why: rule.why });
          break;
        }
        const exported = /^export\s+([A-Za-z_]\w*)=/.exec(s.text);
        if (exported) {
          steps.push({ kind: "export", snippet: s, name: exported[1] });
          run.push(s);
          break;
        }
        const unknown = unknownProgram(substitute(s.text, plan, STATIC_CONTEXT));
        if (unknown) {
          problems.push(`${label(s)}: \`${normalizeCommand(s.text)}\` runs \`${unknown}\`, which the harness does not run: exclude it in test/docs/docs-plan.ts (with the reason) or teach the harness`);
          break;
        }
        const serve = simpleCommands(s.text).some((c) => /^(?:npx\s+)?winnow\s+serve\b/.test(c) || /^npx\s+tsx\s+src\/cli\/run\.ts\s+serve\b/.test(c));
        if (serve) stopBackground();
        const step: CommandStep = { kind: "command", snippet: s, rule, serve };
        steps.push(step);
        lastByCommand.set(s, step);
        run.push(s);
        if (serve) background = step;
        break;
      }
      case "typescript": {
        const rule = plan.typescript.find((r) => s.text.includes(r.contains));
        if (rule) usedTs.add(rule);
        if (rule?.exclude) {
          excluded.push({ snippet: s, why: rule.why });
          break;
        }
        if (rule?.listens) stopBackground();
        const step: TypeScriptStep = { kind: "typescript", snippet: s, rule };
        steps.push(step);
        run.push(s);
        if (rule?.listens === "background") background = step;
        break;
      }
      case "file": {
        const rule = plan.files.find((r) => r.fileName === s.fileName);
        if (rule) usedFiles.add(rule);
        const readLater = snippets.some((o) => o !== s && (o.kind === "command" || o.kind === "typescript") && o.line > s.line && o.text.includes(s.fileName!));
        if (!readLater && !rule) problems.push(`${label(s)}: the page shows ${s.fileName} but no later snippet reads it: add a FileRule saying how it is checked`);
        steps.push({ kind: "file", snippet: s, rule });
        run.push(s);
        break;
      }
      case "output": {
        const step = s.outputOf && lastByCommand.get(s.outputOf);
        if (step) step.shownOutput = s;
        break;
      }
      case "fragment":
        break; // parsed by the static test: a config excerpt, not a program
      case "unknown":
        problems.push(`${label(s)}: a \`\`\`${s.lang} block, which the harness has no runner for: exclude it in test/docs/docs-plan.ts or teach the harness`);
        break;
    }
  }
  stopBackground();

  for (const r of plan.commands) if (!usedCommands.has(r)) problems.push(`${page}: command rule \`${r.command}\` matches no command of the page (the docs changed: update or delete the row)`);
  for (const r of plan.typescript) if (!usedTs.has(r)) problems.push(`${page}: TypeScript rule "${r.contains}" matches no snippet of the page`);
  for (const r of plan.files) if (!usedFiles.has(r)) problems.push(`${page}: file rule ${r.fileName} matches no file the page shows`);
  for (const sub of plan.substitutions) {
    if (substitutionUses(sub, run) === 0) problems.push(`${page}: substitution ${String(sub.from)} matches no snippet that runs (the docs changed: update or delete the row)`);
  }
  for (const f of plan.fixtures) {
    if (!run.some((s) => s.text.includes(f.path)) && !plan.substitutions.some((sub) => typeof sub.to === "string" && sub.to.includes(f.path))) {
      problems.push(`${page}: fixture ${f.path} is used by no snippet`);
    }
  }
  return { steps, problems, excluded };
}

/** The page's text for a snippet with the page's substitutions, then the global ones, applied. */
export function substitute(text: string, plan: PagePlan, c: PageContext): string {
  const apply = (s: string, sub: Substitution) => {
    const to = typeof sub.to === "function" ? sub.to(c) : sub.to;
    return typeof sub.from === "string" ? s.split(sub.from).join(to) : s.replace(sub.from, to);
  };
  let out = plan.substitutions.reduce(apply, text);
  // Paths the harness itself put in (generated models, the page's folder, the checkout) are
  // already real: a checkout that lives under /tmp (as a CI clone may) must not have them
  // rewritten again by the global /tmp rule.
  const real = [...new Set([repoRoot, ...Object.values(c)].filter((v): v is string => typeof v === "string" && v.startsWith("/")))].sort((a, b) => b.length - a.length);
  const masks: string[] = [];
  for (const path of real) {
    out = out.split(path).join(`\u0000${masks.length}\u0000`);
    masks.push(path);
  }
  out = GLOBAL_SUBSTITUTIONS.reduce(apply, out);
  return out.replace(/\u0000(\d+)\u0000/g, (_, i: string) => masks[Number(i)]);
}

/** Whether the collections beside the checkout (../shared/datasets) are here. */
export function sharedPresent(): boolean {
  return existsSync(join(repoRoot, "../shared/datasets"));
}
