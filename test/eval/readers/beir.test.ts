import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WinnowError } from "../../../src/core/errors.js";
import type { Document } from "../../../src/core/types.js";
import { loadBeirDataset, readCorpus, readQrels, readQueries } from "../../../src/eval/readers/beir.js";
import { repoRoot, sharedDataset } from "../../support/shared-datasets.js";

async function collect(gen: AsyncGenerator<Document>): Promise<Document[]> {
  const out: Document[] = [];
  for await (const d of gen) out.push(d);
  return out;
}

async function expectError(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WinnowError);
  expect((err as WinnowError).code).toBe(code);
  expect((err as WinnowError).message).toMatch(pattern);
}

describe("BEIR readers", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "winnow-beir-"));
    await mkdir(join(dir, "qrels"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("streams the corpus, keeping title and moving extra fields to metadata", async () => {
    await writeFile(
      join(dir, "corpus.jsonl"),
      '{"_id":"d1","title":"T1","text":"alpha","year":2020}\n\n{"_id":7,"text":"beta","title":""}\n',
    );
    const docs = await collect(readCorpus(dir));
    expect(docs).toEqual([
      { id: "d1", title: "T1", text: "alpha", metadata: { year: 2020 } },
      { id: "7", text: "beta" },
    ]);
  });

  it("names file and line for a malformed corpus line", async () => {
    await writeFile(join(dir, "corpus.jsonl"), '{"_id":"d1","text":"a"}\n{"_id":"d2","text":\n');
    await expectError(collect(readCorpus(dir)), "INVALID_INPUT", /corpus\.jsonl:2: malformed JSON/);
  });

  it("rejects a document without text, a duplicate id, and an empty corpus", async () => {
    await writeFile(join(dir, "corpus.jsonl"), '{"_id":"d1","title":"x"}\n');
    await expectError(collect(readCorpus(dir)), "INVALID_INPUT", /corpus\.jsonl:1: "text" must be a string/);
    await writeFile(join(dir, "corpus.jsonl"), '{"_id":"d1","text":"a"}\n{"_id":"d1","text":"b"}\n');
    await expectError(collect(readCorpus(dir)), "INVALID_INPUT", /corpus\.jsonl:2: duplicate document id "d1"/);
    await writeFile(join(dir, "corpus.jsonl"), "\n");
    await expectError(collect(readCorpus(dir)), "INVALID_INPUT", /corpus is empty/);
  });

  it("names the missing folder or file", async () => {
    await expectError(collect(readCorpus(join(dir, "nope"))), "NOT_FOUND", /dataset folder not found: .*nope/);
    await expectError(collect(readCorpus(dir)), "NOT_FOUND", /corpus file not found: .*corpus\.jsonl/);
    await expectError(readQueries(dir), "NOT_FOUND", /queries file not found/);
    await expectError(readQrels(join(dir, "qrels", "test.tsv")), "NOT_FOUND", /qrels file not found: .*test\.tsv/);
  });

  it("reads qrels with header, without header, and in TREC format alike", async () => {
    const expected = new Map([
      ["q1", new Map([["d1", 2], ["d2", 0]])],
      ["q2", new Map([["d3", 1]])],
    ]);
    const withHeader = join(dir, "a.tsv");
    await writeFile(withHeader, "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t0\nq2\td3\t1\n");
    const noHeader = join(dir, "b.tsv");
    await writeFile(noHeader, "q1\td1\t2\r\nq1\td2\t0\r\nq2\td3\t1\r\n");
    const trec = join(dir, "c.qrels");
    await writeFile(trec, "q1 0 d1 2\nq1 0 d2 0\n\nq2 0 d3 1\n");
    expect(await readQrels(withHeader)).toEqual(expected);
    expect(await readQrels(noHeader)).toEqual(expected);
    expect(await readQrels(trec)).toEqual(expected);
  });

  it("rejects malformed qrels lines naming file and line", async () => {
    const p = join(dir, "bad.tsv");
    await writeFile(p, "q1\td1\t1\nq1\td2\n");
    await expectError(readQrels(p), "INVALID_INPUT", /bad\.tsv:2: expected 3 fields/);
    await writeFile(p, "q1\td1\t1\nq1\td2\tyes\n");
    await expectError(readQrels(p), "INVALID_INPUT", /bad\.tsv:2: relevance grade must be an integer/);
    await writeFile(p, "q1\td1\t0.5\n");
    await expectError(readQrels(p), "INVALID_INPUT", /bad\.tsv:1: relevance grade must be an integer, got "0\.5"/);
    await writeFile(p, "q1\td1\t2.0\nq1\td2\t-1\n");
    expect(await readQrels(p)).toEqual(new Map([["q1", new Map([["d1", 2], ["d2", -1]])]]));
    await writeFile(p, "q1 0 d1 1\nq1 d2 1\n");
    await expectError(readQrels(p), "INVALID_INPUT", /bad\.tsv:2: 3 fields, but the file started in TREC/);
    await writeFile(p, "q1\td1\t1\nq1\td1\t2\n");
    await expectError(readQrels(p), "INVALID_INPUT", /bad\.tsv:2: duplicate judgment/);
    await writeFile(p, "query-id\tcorpus-id\tscore\n");
    await expectError(readQrels(p), "INVALID_INPUT", /no judgments/);
  });

  it("loads a split's judged queries in qrels order and rejects unknown query ids", async () => {
    await writeFile(join(dir, "queries.jsonl"), '{"_id":"q1","text":"one"}\n{"_id":"q2","text":"two"}\n{"_id":"q3","text":"three"}\n');
    await writeFile(join(dir, "qrels", "test.tsv"), "query-id\tcorpus-id\tscore\nq3\td1\t1\nq1\td2\t1\n");
    const ds = await loadBeirDataset(dir);
    expect(ds.queries.map((q) => q.id)).toEqual(["q3", "q1"]);
    expect(ds.qrels.get("q3")?.get("d1")).toBe(1);
    await writeFile(join(dir, "qrels", "dev.tsv"), "q1\td1\t1\nq9\td2\t1\n");
    await expectError(loadBeirDataset(dir, "dev"), "INVALID_INPUT", /dev\.tsv:2: query id "q9" is not in .*queries\.jsonl/);
    await expectError(loadBeirDataset(dir, "train"), "NOT_FOUND", /qrels file not found: .*train\.tsv/);
    await expectError(loadBeirDataset(dir, "../x"), "INVALID_INPUT", /split must be a plain name/);
  });

  const shared = sharedDataset("scifact");
  it.skipIf(!shared.present)(`reads the shared SciFact collection and the committed demo corpus${shared.skipNote}`, async () => {
    const scifact = shared.dir;
    const ds = await loadBeirDataset(scifact, "test");
    expect(ds.queries).toHaveLength(300);
    let n = 0;
    for await (const doc of readCorpus(scifact)) {
      n++;
      expect(typeof doc.text).toBe("string");
    }
    expect(n).toBe(5183);
    const mini = await collect(readCorpus(join(repoRoot, "examples/scifact-mini")));
    expect(mini).toHaveLength(683);
  });
});
