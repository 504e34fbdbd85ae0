import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { register } from "../../../src/cli/commands/metrics.js";
import { UsageError } from "../../../src/cli/usage-error.js";
import { WinnowError } from "../../../src/core/errors.js";
import { repoPaths } from "../../support/shared-datasets.js";
import { runCommand } from "../../support/run-command.js";

const fixtures = join(repoPaths.root, "test/eval/fixtures");
const qrels = join(fixtures, "graded.qrels");
const run = join(fixtures, "graded.run");

describe("winnow metrics", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "winnow-metrics-cli-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("prints one JSON object keyed by trec_eval names, with per-query values on request", async () => {
    const out = JSON.parse(await runCommand(register, ["metrics", "--qrels", qrels, "--run", run, "--format", "json", "--per-query", "--metrics", "map,P.5"]));
    // map over 5 judged queries: (0.4778 + 0.3333 + 0 + 0.5 + 0) / 5 (see test/eval/metrics.test.ts).
    expect(out.metrics.map).toBeCloseTo(((1 / 3 + 2 / 4 + 3 / 5) / 3 + 1 / 3 + 1 / 2) / 5, 10);
    expect(Object.keys(out.metrics)).toEqual(["map", "P_5"]);
    expect(out.numQueries).toBe(5);
    expect(out.missingQueries).toBe(1);
    expect(Object.keys(out.perQuery)).toEqual(["q1", "q2", "q3", "q4", "q5"]);
  });

  it("prints an aligned table by default and lift against a baseline", async () => {
    const table = await runCommand(register, ["metrics", "--qrels", qrels, "--run", run, "--metrics", "map"]);
    expect(table).toMatch(/^run\s+map\n-+\s+-+\n.*graded\.run\s+0\.2622\n5 judged queries; 1 without results \(scored 0\)/);
    // A baseline that puts q1's relevant d1 first: recip_rank 1 instead of 1/3 for q1.
    const baseline = join(dir, "baseline.run");
    await writeFile(baseline, "q1 Q0 d1 1 9 base\nq1 Q0 d3 2 8 base\n");
    const out = JSON.parse(await runCommand(register, ["metrics", "--qrels", qrels, "--run", run, "--baseline", baseline, "--metrics", "recip_rank", "--format", "json"]));
    expect(out.firstStage.recip_rank).toBeCloseTo(1 / 5, 10);
    expect(out.lift.metrics.recip_rank.delta).toBeCloseTo(out.metrics.recip_rank - 1 / 5, 10);
    expect(out.lift.metrics.recip_rank).toMatchObject({ wins: 2, losses: 1 });
  });

  it("fails with typed errors naming the file, line or flag", async () => {
    const bad = join(dir, "bad.run");
    await writeFile(bad, "q1 Q0 d1 1 9 t\nq1 Q0 d2 x\n");
    const err = await runCommand(register, ["metrics", "--qrels", qrels, "--run", bad]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WinnowError);
    expect((err as Error).message).toMatch(/bad\.run:2: expected 6 fields/);
    const missing = await runCommand(register, ["metrics", "--qrels", join(dir, "nope.tsv"), "--run", run]).catch((e: unknown) => e);
    expect((missing as Error).message).toMatch(/qrels file not found: .*nope\.tsv/);
    const flag = await runCommand(register, ["metrics", "--qrels", qrels, "--run", run, "--metrics", "ndcg@10"]).catch((e: unknown) => e);
    expect(flag).toBeInstanceOf(UsageError);
    expect((flag as Error).message).toMatch(/--metrics: unknown metric "ndcg@10"/);
  });
});
