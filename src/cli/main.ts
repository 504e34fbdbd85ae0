import { Command, CommanderError } from "commander";
import { isWinnowError } from "../core/errors.js";
import { UsageError } from "./usage-error.js";

/** Each command lives in its own module under ./commands and registers itself here, in the order `--help` lists them. */
const commandModules: Array<() => Promise<{ register(program: Command): void }>> = [
  () => import("./commands/demo.js"),
  () => import("./commands/index.js"),
  () => import("./commands/search.js"),
  () => import("./commands/eval.js"),
  () => import("./commands/metrics.js"),
  () => import("./commands/rerank.js"),
  () => import("./commands/serve.js"),
  () => import("./commands/pipeline.js"),
  () => import("./commands/embed.js"),
  () => import("./commands/sweep.js"),
  () => import("./commands/compare.js"),
  () => import("./commands/train.js"),
  () => import("./commands/label.js"),
  () => import("./commands/calibrate.js"),
  () => import("./commands/models.js"),
  () => import("./commands/generate-model.js"),
  () => import("./commands/quantize.js"),
  () => import("./commands/optimize.js"),
];

export async function buildProgram(): Promise<Command> {
  const program = new Command();
  program
    .name("winnow")
    .description("Reranking for search and RAG: retrieve, rerank, serve and evaluate.")
    .version("0.1.0")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  for (const load of commandModules) (await load()).register(program);
  return program;
}

/** Runs the CLI; returns the exit code. User errors print one line, never a stack trace. */
export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed the message (or help/version).
      return err.exitCode;
    }
    if (isWinnowError(err) || err instanceof UsageError) {
      console.error(`winnow: ${err.message}`);
      return 2;
    }
    if (process.env.WINNOW_DEBUG) console.error(err);
    else console.error(`winnow: unexpected error: ${err instanceof Error ? err.message : String(err)} (set WINNOW_DEBUG=1 for a stack trace)`);
    return 1;
  }
}
