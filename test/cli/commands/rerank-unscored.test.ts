import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { register } from "../../../src/cli/commands/rerank.js";
import { startFakeChat, type FakeChatServer } from "../../support/fake-vendors/fake-chat-server.js";
import { runCommandStdout } from "../../support/run-command.js";

const runRerank = (args: string[]) => runCommandStdout(register, ["rerank", ...args]);

describe("winnow rerank with a pointwise LLM that leaves candidates unscored", () => {
  let server: FakeChatServer;
  let dir: string;
  beforeAll(async () => {
    // Scores passage 1 only; "n/a" for passage 2 and nothing for 3, on both attempts.
    server = await startFakeChat({ pointwise: (scores) => JSON.stringify({ "1": scores[0], "2": "n/a" }) });
    dir = mkdtempSync(join(tmpdir(), "winnow-rerank-unscored-"));
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("prints `unscored` in the table where the JSON says unscored, never NaN", async () => {
    const docs = join(dir, "docs.jsonl");
    writeFileSync(docs, ['{"id":"x","text":"cats purr when content"}', '{"id":"y","text":"the stock market fell"}', '{"id":"z","text":"kittens and cats"}'].join("\n"));
    const base = ["--reranker", "llm", "--base-url", `${server.url}/v1`, "--model", "fake", "-O", "mode=pointwise", "-O", "scoring=json", "-q", "why do cats purr", "--docs", docs];
    const table = await runRerank(base);
    expect(table).not.toContain("NaN");
    const rows = table.trim().split("\n").slice(1).map((line) => line.split(/\s{2,}/));
    expect(rows.map((r) => [r[1], r[2]])).toEqual([["x", expect.stringMatching(/^\d+\.\d{4}$/)], ["y", "unscored"], ["z", "unscored"]]);
    const json = JSON.parse(await runRerank([...base, "--format", "json"]));
    expect(json.results.slice(1).map((r: { details: unknown }) => r.details)).toEqual([{ unscored: true }, { unscored: true }]);
  });
});
