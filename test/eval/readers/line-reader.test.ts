import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readCorpus, readQueries } from "../../../src/eval/readers/beir.js";
import { readLines } from "../../../src/eval/readers/line-reader.js";
import { readQrels } from "../../../src/eval/readers/qrels.js";
import { readRun } from "../../../src/eval/readers/trec.js";
import { readVectors } from "../../../src/retrieval/vector/vector-import.js";

async function lines(source: Parameters<typeof readLines>[0]): Promise<string[]> {
  const out: string[] = [];
  for await (const { line, lineNumber } of readLines(source)) out.push(`${lineNumber}:${line}`);
  return out;
}

async function drain<T>(gen: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of gen) out.push(x);
  return out;
}

describe("readLines", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "winnow-lines-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("splits at LF, CRLF and CR as readline does, strips a BOM on line 1, and keeps empty lines", async () => {
    const file = join(dir, "a.txt");
    await writeFile(file, "\uFEFFone\r\ntwo\n\nthree\rfour\r");
    expect(await lines(file)).toEqual(["1:one", "2:two", "3:", "4:three", "5:four"]);
  });

  it("gives the same lines whatever the chunking, CRLF and multi-byte characters split across chunks", async () => {
    const bytes = Buffer.from("é漢\r\nsecond line\r\n\rlast 漢", "utf8");
    const expected = ["1:é漢", "2:second line", "3:", "4:last 漢"];
    for (const size of [1, 2, 3, 5, 7, bytes.length]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      expect(await lines(Readable.from(chunks)), `chunks of ${size}`).toEqual(expected);
    }
  });

  it("refuses bytes that are not UTF-8, naming the file and the line, even far into a large file", async () => {
    const file = join(dir, "bad.txt");
    const good = Array.from({ length: 50_000 }, (_, i) => `line ${i} é`).join("\n");
    await writeFile(file, Buffer.concat([Buffer.from(good + "\nok\n"), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]), Buffer.from("after\n")]));
    await expect(lines(file)).rejects.toMatchObject({ code: "INVALID_INPUT", message: `${file}:50002: not valid UTF-8 (re-encode the file as UTF-8, e.g. \`iconv -f latin1 -t utf-8\`)`, details: { line: 50002 } });
    // A truncated sequence on the last line, with no final line break.
    await writeFile(file, Buffer.concat([Buffer.from("a\nb\n"), Buffer.from([0xe6, 0xbc])]));
    await expect(lines(file)).rejects.toMatchObject({ message: expect.stringContaining(`${file}:3: not valid UTF-8`) });
    // Overlong encodings and lone surrogates are not UTF-8 either.
    await writeFile(file, Buffer.from([0x61, 0x0a, 0xc0, 0xaf, 0x0a]));
    await expect(lines(file)).rejects.toMatchObject({ message: expect.stringContaining(":2:") });
    await writeFile(file, Buffer.from([0xed, 0xa0, 0x80]));
    await expect(lines(file)).rejects.toMatchObject({ message: expect.stringContaining(":1:") });
  });

  it("names a stream by the name it is given", async () => {
    await expect(lines(Readable.from([Buffer.from([0xff])]))).rejects.toMatchObject({ message: expect.stringContaining("<stream>:1:") });
    const named = drain(readLines(Readable.from([Buffer.from("x\n"), Buffer.from([0xff, 0x0a])]), { name: "<stdin>" }));
    await expect(named).rejects.toMatchObject({ message: expect.stringContaining("<stdin>:2: not valid UTF-8") });
  });
});

describe("every reader built on readLines refuses invalid UTF-8 with the file and line", () => {
  let dir: string;
  const latin1 = (s: string) => Buffer.from(s, "latin1");
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "winnow-utf8-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("corpus.jsonl, queries.jsonl, qrels and runs", async () => {
    await writeFile(join(dir, "corpus.jsonl"), latin1('{"_id":"1","text":"ok"}\n{"_id":"2","text":"café"}\n'));
    await expect(drain(readCorpus(dir))).rejects.toMatchObject({ code: "INVALID_INPUT", message: expect.stringContaining(`${join(dir, "corpus.jsonl")}:2: not valid UTF-8`) });
    await writeFile(join(dir, "queries.jsonl"), latin1('{"_id":"q","text":"naïve"}\n'));
    await expect(readQueries(dir)).rejects.toMatchObject({ message: expect.stringContaining(`${join(dir, "queries.jsonl")}:1: not valid UTF-8`) });
    await writeFile(join(dir, "q.tsv"), latin1("query-id\tcorpus-id\tscore\nq\td1\t1\nq\tdé\t1\n"));
    await expect(readQrels(join(dir, "q.tsv"))).rejects.toMatchObject({ message: expect.stringContaining(`${join(dir, "q.tsv")}:3: not valid UTF-8`) });
    await writeFile(join(dir, "r.run"), latin1("q Q0 d1 1 2.0 t\nq Q0 dé 2 1.0 t\n"));
    await expect(readRun(join(dir, "r.run"))).rejects.toMatchObject({ message: expect.stringContaining(`${join(dir, "r.run")}:2: not valid UTF-8`) });
  });

  it("vector files and the ids file of a vector matrix", async () => {
    await writeFile(join(dir, "v.jsonl"), latin1('{"id":"dé","vector":[1,2]}\n'));
    await expect(readVectors(join(dir, "v.jsonl"))).rejects.toMatchObject({ message: expect.stringContaining(`${join(dir, "v.jsonl")}:1: not valid UTF-8`) });
    await writeFile(join(dir, "m.f32"), Buffer.from(new Float32Array([1, 2, 3, 4]).buffer));
    await writeFile(join(dir, "ids.txt"), latin1("d1\ndé\n"));
    await expect(readVectors(join(dir, "m.f32"), { idsFile: join(dir, "ids.txt"), dim: 2 })).rejects.toMatchObject({ message: expect.stringContaining(`${join(dir, "ids.txt")}:2: not valid UTF-8`) });
    await writeFile(join(dir, "ids.txt"), "d1\r\nd2\r\n");
    expect((await readVectors(join(dir, "m.f32"), { idsFile: join(dir, "ids.txt"), dim: 2 })).map((v) => v.id)).toEqual(["d1", "d2"]);
  });
});
