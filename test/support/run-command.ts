import { Command } from "commander";
import { vi } from "vitest";

/**
 * Runs one command module's `register` on a fresh program and captures stdout.
 * Loading only the module under test keeps these tests independent of every other
 * command; the one-line printing of WinnowError/UsageError is main()'s job.
 */
export async function runCommand(register: (program: Command) => void, args: string[]): Promise<string> {
  const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  register(program);
  const lines: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...parts: unknown[]) => {
    lines.push(parts.map(String).join(" "));
  });
  try {
    await program.parseAsync(["node", "winnow", ...args]);
  } finally {
    log.mockRestore();
  }
  return lines.join("\n");
}

/**
 * Like runCommand, for commands that write to process.stdout directly (tables, JSON):
 * captures stdout, and silences stderr (progress, warnings).
 */
export async function runCommandStdout(register: (program: Command) => void, args: string[]): Promise<string> {
  const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  register(program);
  let out = "";
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  try {
    await program.parseAsync(["node", "winnow", ...args]);
  } finally {
    write.mockRestore();
    err.mockRestore();
  }
  return out;
}
