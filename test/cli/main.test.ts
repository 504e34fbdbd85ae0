import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";

/** Runs main() as `winnow …`, capturing everything written to stdout and stderr. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  vi.spyOn(console, "error").mockImplementation((...parts: unknown[]) => {
    stderr += parts.map(String).join(" ") + "\n";
  });
  vi.spyOn(console, "log").mockImplementation((...parts: unknown[]) => {
    stdout += parts.map(String).join(" ") + "\n";
  });
  const code = await main(["node", "winnow", ...args]);
  vi.restoreAllMocks();
  return { code, stdout, stderr };
}

afterEach(() => vi.restoreAllMocks());

describe("winnow main(): exit codes", () => {
  it("an unknown option is a usage error: exit 2, one line naming the option", async () => {
    const r = await cli("search", "--index", "/nonexistent", "q", "--formt", "json");
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^winnow: unknown option '--formt'.*--format.*winnow search --help/);
  });

  it("a missing required option, an unknown command and extra arguments exit 2 with one line", async () => {
    for (const args of [["index", "--dataset", "x"], ["no-such-command"], ["search", "--index", "i", "a", "b"]]) {
      const r = await cli(...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.trimEnd().split("\n"), args.join(" ")).toHaveLength(1);
      expect(r.stderr).toMatch(/^winnow: /);
    }
    expect((await cli("index", "--dataset", "x")).stderr).toContain("--out");
  });

  it("a bad flag value exits 2, like every other input error", async () => {
    const r = await cli("search", "--index", "/nonexistent", "q", "-k", "0");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^winnow: -k must be/);
  });

  it("no command prints the help and exits 2", async () => {
    const r = await cli();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Usage: winnow");
  });

  it("--help, help <command> and --version exit 0", async () => {
    const help = await cli("rerank", "--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: winnow rerank");
    expect((await cli("help", "index")).code).toBe(0);
    const version = await cli("--version");
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
