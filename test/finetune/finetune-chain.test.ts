import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { register as registerEval } from "../../src/cli/commands/eval.js";
import { register as registerFinetune } from "../../src/cli/commands/finetune.js";
import { register as registerLabel } from "../../src/cli/commands/label.js";
import { readQrels } from "../../src/eval/readers/qrels.js";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { startFakeChat, type FakeChatServer } from "../support/fake-vendors/fake-chat-server.js";
import { runCommand } from "../support/run-command.js";
import { repoPaths } from "../support/shared-datasets.js";

const MINI = join(repoPaths.root, "examples/scifact-mini");

/** The documented recipe: an LLM labels, finetune distils the labels into a cross-encoder, eval measures it. */
describe("winnow label → winnow finetune → winnow eval", () => {
  let server: FakeChatServer;
  let dir: string;
  beforeAll(async () => {
    server = await startFakeChat();
    dir = await mkdtemp(join(tmpdir(), "winnow-ft-chain-"));
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("runs end to end against a fake LLM endpoint", async () => {
    const labels = join(dir, "labels.tsv");
    const label = JSON.parse(await runCommand(registerLabel, [
      "label", "--dataset", MINI, "--split", "test", "--max-queries", "30", "--candidates", "8",
      "--reranker", "llm", "--base-url", `${server.url}/v1`, "--model", "fake", "-O", "window=8", "-O", "step=4",
      "--out", labels, "--format", "json",
    ]));
    expect(label.labelled).toBe(30);
    expect(server.kinds.length).toBeGreaterThan(0);
    const qrels = await readQrels(labels);

    const mine = join(dir, "mine");
    const tiny = await ensureGeneratedModel("tiny-bert");
    const report = JSON.parse(await runCommand(registerFinetune, [
      "finetune", "--model", tiny, "--labels", labels, "--dataset", MINI, "--out", mine, "--steps", "30", "--loss", "ranknet",
      "--validation-queries", "5", "--max-length", "48", "--batch-tokens", "768", "--lr", "1e-3", "--threads", "1", "--no-int8", "--format", "json",
    ]));
    expect(report.data.labels).toBe(labels);
    expect(report.loss.name).toBe("ranknet");
    expect(report.steps).toBe(30);
    // Held-out validation takes whole labelled queries out of training.
    expect(report.data.trainQueries + Math.round(qrels.size * 0.1)).toBe(qrels.size);
    expect(report.validation.curve.length).toBeGreaterThan(1);

    // Evaluated on the 30 labelled queries' human judgments (a folder over the sample with only their qrels), to keep CI short.
    const slice = join(dir, "labelled-slice");
    await mkdir(join(slice, "qrels"), { recursive: true });
    await symlink(join(MINI, "corpus.jsonl"), join(slice, "corpus.jsonl"));
    await symlink(join(MINI, "queries.jsonl"), join(slice, "queries.jsonl"));
    const human = (await readFile(join(MINI, "qrels/test.tsv"), "utf8")).split("\n");
    await writeFile(join(slice, "qrels/test.tsv"), [human[0], ...human.slice(1).filter((l) => qrels.has(l.split("\t")[0]))].join("\n") + "\n");
    const evaluated = JSON.parse(await runCommand(registerEval, ["eval", "--dataset", slice, "--split", "test", "--reranker", "cross-encoder", "--model", mine, "--candidates", "10", "--depth", "10", "--format", "json"]));
    expect(evaluated.numQueries).toBe(30);
    expect(evaluated.reranker).toMatchObject({ type: "cross-encoder", model: mine });
    expect(evaluated.metrics.ndcg_cut_10).toBeGreaterThan(0);
    expect(evaluated.metrics.ndcg_cut_10).toBeLessThanOrEqual(1);
  }, 480_000);
});
