import type { Command } from "commander";
import { UsageError } from "../usage-error.js";
import { numberFlag } from "../number-flag.js";
import { retrieverSpecFromFlag, retrieverTypesHelp } from "../retriever-options.js";

interface FinetuneFlags {
  model: string;
  out: string;
  dataset?: string;
  corpus?: string;
  queries?: string;
  labels?: string;
  split: string;
  validation: string;
  validationQueries?: string;
  validationCandidates?: string;
  loss?: string;
  negatives?: string;
  negativeDepth?: string;
  retriever: string;
  lr?: string;
  warmup?: string;
  steps?: string;
  epochs?: string;
  batchTokens?: string;
  accumulate?: string;
  maxLength?: string;
  seed?: string;
  evalEvery?: string;
  patience?: string;
  checkpointEvery?: string;
  resume?: boolean;
  overwrite?: boolean;
  int8: boolean;
  python?: string;
  threads?: string;
  format: string;
  quiet?: boolean;
}

/** `winnow finetune`: labels → your own cross-encoder, trained on PyTorch by the shipped trainer, exported to ONNX. */
export function register(program: Command): void {
  program
    .command("finetune")
    .description("fine-tune (distil) a cross-encoder on labels (winnow label output, qrels or a BEIR split) with PyTorch; writes a model folder with ONNX graphs")
    .requiredOption("--model <dir>", "base cross-encoder folder (Hugging Face layout: model.safetensors, or onnx/model.onnx with named initializers)")
    .requiredOption("--out <dir>", "model folder to create (written whole at the end; OUT.partial holds the run until then)")
    .option("--dataset <dir>", "BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv")
    .option("--corpus <file>", "corpus JSONL, instead of --dataset (with --queries)")
    .option("--queries <file>", "queries JSONL, instead of --dataset (with --corpus)")
    .option("--labels <file>", "training labels: winnow label output, BEIR/TREC qrels, or a TSV with a teacher-score column (default: the dataset's qrels/<split>.tsv)")
    .option("--split <name>", "the dataset split to train on when --labels is not given", "train")
    .option("--validation <what>", "held-out (a seeded 10% of the labelled queries), a split name, a qrels file, or none", "held-out")
    .option("--validation-queries <n>", "at most this many validation queries (default 100)")
    .option("--validation-candidates <n>", "first-stage candidates reranked per validation query (default 30)")
    .option("--loss <name>", "listwise | pointwise | ranknet | margin | margin-mse (default: margin-mse with teacher scores, else listwise)")
    .option("--negatives <k>", "negatives per positive (default 3)")
    .option("--negative-depth <n>", "first-stage depth hard negatives come from (default 30)")
    .option("--retriever <name|json>", "first stage for hard negatives and validation candidates (a name listed below or a JSON spec)", "bm25")
    .addHelpText("after", () => retrieverTypesHelp())
    .option("--lr <x>", "peak learning rate (default 5e-5)")
    .option("--warmup <x>", "warm-up steps, or a fraction of the steps when below 1 (default 0.1); then linear decay to 0")
    .option("--steps <n>", "optimizer steps (default: --epochs 1)")
    .option("--epochs <n>", "passes over the training groups")
    .option("--batch-tokens <n>", "tokens per micro-batch, padding included (default 8192)")
    .option("--accumulate <n>", "micro-batches per optimizer step (default 1)")
    .option("--max-length <n>", "tokens per pair (default 256)")
    .option("--seed <n>", "seed for sampling, shuffling and dropout (default 42)")
    .option("--eval-every <n>", "steps between validations (default: a tenth of the run)")
    .option("--patience <n>", "stop after n validations without a better nDCG@10 (default: never)")
    .option("--checkpoint-every <n>", "steps between checkpoints in OUT.partial (default: none)")
    .option("--resume", "continue the run whose checkpoint is in OUT.partial")
    .option("--overwrite", "replace --out if it exists")
    .option("--no-int8", "skip onnx/model_quantized.onnx")
    .option("--python <path>", "Python with torch (default: $WINNOW_PYTHON, /usr/bin/python3, python3)")
    .option("--threads <n>", "torch threads (default: all cores)")
    .option("--format <fmt>", "table | json (the final report on stdout)", "table")
    .option("-q, --quiet", "no progress bar")
    .action(async (flags: FinetuneFlags) => {
      if (flags.format !== "table" && flags.format !== "json") throw new UsageError(`--format must be "table" or "json", got "${flags.format}"`);
      if (flags.dataset === undefined && (flags.corpus === undefined || flags.queries === undefined)) throw new UsageError("finetune needs --dataset DIR, or --corpus FILE and --queries FILE");
      const int = (flag: string, v: string | undefined, min: number, max: number) => numberFlag(flag, v, { min, max });
      const num = (flag: string, v: string | undefined, min: number, max: number) => numberFlag(flag, v, { min, max, integer: false });
      const { finetuneCrossEncoder } = await import("../../finetune/finetune.js");
      const { TRAINER_LOSSES } = await import("../../finetune/trainer-protocol.js");
      if (flags.loss !== undefined && !(TRAINER_LOSSES as readonly string[]).includes(flags.loss)) throw new UsageError(`--loss must be one of ${TRAINER_LOSSES.join(", ")}, got "${flags.loss}"`);
      const showBar = !flags.quiet && process.stderr.isTTY === true;
      let bar: { start(total: number, value: number, payload?: object): void; update(value: number, payload?: object): void; setTotal(n: number): void; stop(): void } | undefined;
      let status = "";
      if (showBar) {
        const { SingleBar } = (await import("cli-progress")).default;
        bar = new SingleBar({ format: "training [{bar}] {value}/{total} steps | loss {loss} | {rate} steps/s | ETA {eta_text} | {status}", stream: process.stderr, hideCursor: true });
      }
      let started = false;
      try {
        const report = await finetuneCrossEncoder({
          model: flags.model,
          out: flags.out,
          dataset: flags.dataset,
          corpus: flags.corpus,
          queries: flags.queries,
          labels: flags.labels,
          split: flags.split,
          validation: flags.validation,
          validationQueries: int("--validation-queries", flags.validationQueries, 1, 100_000),
          validationCandidates: int("--validation-candidates", flags.validationCandidates, 1, 1000),
          loss: flags.loss as never,
          negatives: int("--negatives", flags.negatives, 1, 64),
          negativeDepth: int("--negative-depth", flags.negativeDepth, 1, 10_000),
          retriever: retrieverSpecFromFlag(flags.retriever),
          lr: num("--lr", flags.lr, 1e-8, 1),
          warmup: num("--warmup", flags.warmup, 0, 1e7),
          steps: int("--steps", flags.steps, 1, 1e8),
          epochs: int("--epochs", flags.epochs, 1, 10_000),
          batchTokens: int("--batch-tokens", flags.batchTokens, 64, 1 << 24),
          accumulate: int("--accumulate", flags.accumulate, 1, 1024),
          maxLength: int("--max-length", flags.maxLength, 16, 8192),
          seed: int("--seed", flags.seed, 0, 0xffffffff),
          evalEvery: int("--eval-every", flags.evalEvery, 1, 1e8),
          patience: int("--patience", flags.patience, 1, 1e6),
          checkpointEvery: int("--checkpoint-every", flags.checkpointEvery, 1, 1e8),
          resume: flags.resume,
          overwrite: flags.overwrite,
          int8: flags.int8,
          python: flags.python,
          threads: int("--threads", flags.threads, 1, 1024),
          onProgress: (p) => {
            if (!bar) return;
            if (p.validation) status = `val nDCG@10 ${p.validation.ndcg10.toFixed(4)} @${p.validation.step}`;
            else if (p.message) status = p.message;
            if (p.stage === "train" && p.total !== undefined) {
              if (!started) {
                bar.start(p.total, p.step ?? 0, { loss: "-", rate: "-", eta_text: "-", status });
                started = true;
              }
              const eta = p.etaSeconds === undefined ? "-" : p.etaSeconds >= 90 ? `${Math.round(p.etaSeconds / 60)} min` : `${Math.round(p.etaSeconds)} s`;
              bar.update(p.step ?? 0, { status, ...(p.loss !== undefined ? { loss: p.loss.toFixed(4) } : {}), ...(p.stepsPerSecond !== undefined ? { rate: p.stepsPerSecond.toFixed(2), eta_text: eta } : {}) });
            } else if (!started) {
              process.stderr.write(`\r${status.slice(0, 100).padEnd(100)}`);
            } else bar.update({ status } as never);
          },
        });
        bar?.stop();
        bar = undefined;
        if (flags.format === "json") {
          const { curve: lossCurve, ...loss } = report.loss;
          const validation = report.validation && { ...report.validation, curve: report.validation.curve };
          console.log(JSON.stringify({ ...report, loss: { ...loss, curve: lossCurve }, validation }, null, 2));
          return;
        }
        const v = report.validation;
        console.log(`wrote ${report.out} (${report.files.join(", ")})`);
        console.log(`loss (${report.loss.name}): ${report.loss.first.toFixed(4)} → ${report.loss.last.toFixed(4)} over ${report.steps} steps (${report.stepsPerSecond.toFixed(2)} steps/s, ${report.seconds.train.toFixed(1)} s)`);
        if (v) console.log(`validation nDCG@10: ${v.before.toFixed(4)} → ${v.after.toFixed(4)} (step ${v.selectedStep}; first stage ${v.firstStage.toFixed(4)}; ${report.data.validation})`);
        else console.log("validation: none");
        console.log(`report: ${report.out}/finetune.html; model card: ${report.out}/README.md`);
      } finally {
        bar?.stop();
      }
    });
}
