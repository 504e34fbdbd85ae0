import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { serveConfigFromFlags, withEnvironment } from "../../../src/cli/commands/serve.js";
import { SERVE_ENVIRONMENT } from "../../../src/server/config.js";

const dir = mkdtempSync(join(tmpdir(), "winnow-serve-env-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("winnow serve configuration: flag, then environment, then config file", () => {
  const file = join(dir, "serve.yaml");
  writeFileSync(file, "port: 9001\nhost: 10.0.0.1\nlogLevel: warn\ncache:\n  url: redis://file:6379\n  ttlSeconds: 60\nmodels:\n  - id: m\n    reranker: { type: learned }\n");

  it("a variable beats the file, a flag beats the variable", () => {
    const env = { WINNOW_CONFIG: file, WINNOW_PORT: "9002", WINNOW_SCORE_CACHE: "redis://env:6379", WINNOW_DRAIN_DELAY: "2500" };
    const fromEnv = serveConfigFromFlags(withEnvironment({ docs: true } as never, env));
    expect(fromEnv).toMatchObject({ port: 9002, host: "10.0.0.1", logLevel: "warn", drainDelayMs: 2500, cache: { url: "redis://env:6379", ttlSeconds: 60 } });
    const fromFlag = serveConfigFromFlags(withEnvironment({ docs: true, port: "9003", cache: "redis://flag:6379", cacheTtl: "5" } as never, env));
    expect(fromFlag).toMatchObject({ port: 9003, cache: { url: "redis://flag:6379", ttlSeconds: 5 } });
  });

  it("bad values name the flag the variable stands for", () => {
    expect(() => serveConfigFromFlags(withEnvironment({ docs: true } as never, { WINNOW_CONFIG: file, WINNOW_SCORE_CACHE: "http://x" }))).toThrow(/--cache must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(() => serveConfigFromFlags(withEnvironment({ docs: true } as never, { WINNOW_CONFIG: file, WINNOW_PORT: "70000" }))).toThrow(/--port/);
    expect(() => serveConfigFromFlags(withEnvironment({ docs: true, model: "x" } as never, { WINNOW_SCORE_CACHE_TTL: "5" }))).toThrow(/--cache-ttl needs --cache/);
  });

  it("every variable maps to a flag the command has", async () => {
    const { Command } = await import("commander");
    const { register } = await import("../../../src/cli/commands/serve.js");
    const program = new Command();
    register(program);
    const flags = new Set(program.commands.find((c) => c.name() === "serve")!.options.map((o) => o.long));
    for (const [name, flag] of Object.entries(SERVE_ENVIRONMENT)) expect(flags, name).toContain(flag);
  });
});
