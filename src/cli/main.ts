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
  () => import("./commands/finetune.js"),
  () => import("./commands/label.js"),
  () => import("./commands/calibrate.js"),
  () => import("./commands/models.js"),
  () => import("./commands/generate-model.js"),
  () => import("./commands/quantize.js"),
  () => import("./commands/optimize.js"),
  () => import("./commands/pg.js"),
  () => import("./commands/jobs.js"),
  () => import("./commands/worker.js"),
];

export async function buildProgram(): Promise<Command> {
  const program = new Command();
  program
    .name("winnow")
    .description("Reranking for search and RAG: retrieve, rerank, serve and evaluate.")
    .version("0.1.0")
    // main() prints commander's parse errors itself, as one line with exit code 2; help
    // and version output still go through commander's writeOut/writeErr.
    .configureOutput({ outputError: () => undefined })
    .exitOverride();
  for (const load of commandModules) (await load()).register(program);
  return program;
}

/** commander's message without its "error: " prefix, on one line ("Did you mean" hints stay). */
function commanderMessage(err: CommanderError): string {
  return err.message
    .replace(/^error: /, "")
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean)
    .join(" ");
}

/** `winnow <command> --help` for the command argv names, else `winnow --help`. */
function helpCommand(program: Command, argv: string[]): string {
  const name = argv[2];
  const sub = name === undefined ? undefined : program.commands.find((c) => c.name() === name || c.aliases().includes(name));
  return sub ? `winnow ${sub.name()} --help` : "winnow --help";
}

/**
 * Runs the CLI; returns the exit code: 0 on success (and for --help / --version), 2 for
 * usage and input errors (commander's parse errors, UsageError, WinnowError), 1 for a
 * crash. User errors print one line, never a stack trace.
 */
export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help, --version, `winnow help`: already printed.
      if (err.exitCode === 0) return 0;
      // Help printed because no command was given: a usage mistake, help is the message.
      if (err.code === "commander.help") return 2;
      console.error(`winnow: ${commanderMessage(err)} (run \`${helpCommand(program, argv)}\` for usage)`);
      return 2;
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
