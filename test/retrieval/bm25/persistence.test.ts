import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Document } from "../../../src/core/types.js";
import { BM25_INDEX_VERSION, Bm25Index } from "../../../src/retrieval/bm25/bm25-index.js";

const V1: Document[] = [
  { id: "a", title: "Alpha", text: "the first alpha document about cats", metadata: { n: 1 } },
  { id: "b", text: "a second document about dogs and cats" },
  { id: "c", text: "third one, on birds" },
];
const V2: Document[] = [{ id: "z", text: "a completely different index about fish" }];

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), "winnow-bm25-test-"));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** What a tool that means to rewrite a manifest consistently must do: recompute its checksum (sorted-key JSON). */
async function withManifestChecksum(manifest: Record<string, unknown>): Promise<Record<string, unknown>> {
  const { createHash } = await import("node:crypto");
  const canonical = (v: unknown): string =>
    Array.isArray(v)
      ? `[${v.map(canonical).join(",")}]`
      : v !== null && typeof v === "object"
        ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(",")}}`
        : JSON.stringify(v);
  const { manifestSha256: _old, ...rest } = manifest;
  return { ...rest, manifestSha256: createHash("sha256").update(canonical(rest)).digest("hex") };
}

async function segmentFile(dir: string, name: string): Promise<string> {
  const manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8"));
  return join(dir, manifest.segments[0].name, name);
}

describe("Bm25Index save/load", () => {
  it("round-trips documents, terms, parameters and scores", async () => {
    const index = await Bm25Index.build(V1, { k1: 1.1, b: 0.6 });
    const dir = join(tmp, "idx");
    await index.save(dir);
    const loaded = await Bm25Index.load(dir);
    expect(loaded.params).toEqual({ k1: 1.1, b: 0.6 });
    expect(loaded.size).toBe(3);
    expect(loaded.avgDocLength).toBe(index.avgDocLength);
    expect(await loaded.search("cats document", 10)).toEqual(await index.search("cats document", 10));
    const a = loaded.docIndex("a")!;
    expect(loaded.document(a)).toEqual(V1[0]);
    // Term ids are each index's own numbering; the terms they name are the same.
    const terms = (i: Bm25Index, d: number) => {
      const { terms: ids, titleLength } = i.documentTerms(d);
      return { terms: Array.from(ids, (t) => i.term(t)), titleLength };
    };
    expect(terms(loaded, a)).toEqual(terms(index, index.docIndex("a")!));
    expect(loaded.docFreq(loaded.termId("cat")!)).toBe(index.docFreq(index.termId("cat")!));
  });

  it("replaces an existing index and leaves only the new segment", async () => {
    const dir = join(tmp, "idx");
    await (await Bm25Index.build(V1)).save(dir);
    await (await Bm25Index.build(V2)).save(dir);
    const loaded = await Bm25Index.load(dir);
    expect(loaded.size).toBe(1);
    expect((await readdir(dir)).sort()).toHaveLength(2); // manifest.json + one seg-*
  });

  it("keeps the old index when a save dies before the commit, and cleans up on the next save", async () => {
    const dir = join(tmp, "idx");
    await (await Bm25Index.build(V1)).save(dir);
    const v2 = await Bm25Index.build(V2);
    await expect(
      v2.save(dir, {
        beforeCommit: () => {
          throw new Error("simulated crash");
        },
      }),
    ).rejects.toThrow("simulated crash");
    // A half-written temp folder from another crash, too.
    await mkdir(join(dir, ".tmp-deadbeef"));
    await writeFile(join(dir, ".tmp-deadbeef", "postings.bin"), "partial");
    const still = await Bm25Index.load(dir);
    expect(still.size).toBe(3);
    expect((await still.search("cats", 5)).map((h) => h.document.id).sort()).toEqual(["a", "b"]);
    // A failed save removes its own segment; the stray temp folder stays until the next commit.
    expect((await readdir(dir)).length).toBe(3); // manifest, old segment, temp folder
    await v2.save(dir);
    expect((await readdir(dir)).length).toBe(2);
    expect((await Bm25Index.load(dir)).size).toBe(1);
  });

  it("reports a damaged small file at open, and a damaged large file on verify, as INDEX_CORRUPT naming it", async () => {
    const dir = join(tmp, "idx");
    await (await Bm25Index.build(V1)).save(dir);
    const postings = await segmentFile(dir, "postings.bin");
    const bytes = await readFile(postings);
    bytes[0] ^= 0xff;
    await writeFile(postings, bytes);
    // Opening reads only sparse indexes (sizes checked); the full CRC-32 pass is verify.
    const opened = await Bm25Index.load(dir);
    expect(() => opened.verify()).toThrow(expect.objectContaining({ code: "INDEX_CORRUPT", message: expect.stringContaining("postings.bin") }));
    await expect(Bm25Index.load(dir, { verify: true })).rejects.toMatchObject({ code: "INDEX_CORRUPT", message: expect.stringContaining("postings.bin") });
    bytes[0] ^= 0xff;
    await writeFile(postings, bytes);
    const termsIndex = await segmentFile(dir, "terms.idx");
    const small = await readFile(termsIndex);
    small[small.length - 1] ^= 0x01;
    await writeFile(termsIndex, small);
    await expect(Bm25Index.load(dir)).rejects.toMatchObject({ code: "INDEX_CORRUPT", message: expect.stringContaining("terms.idx") });
  });

  it("reports a missing file or a garbled manifest as INDEX_CORRUPT", async () => {
    const dir = join(tmp, "idx");
    await (await Bm25Index.build(V1)).save(dir);
    const manifestText = await readFile(join(dir, "manifest.json"), "utf8");
    await rm(await segmentFile(dir, "stored.bin"));
    await expect(Bm25Index.load(dir)).rejects.toMatchObject({ code: "INDEX_CORRUPT", message: expect.stringContaining("stored.bin") });
    await writeFile(join(dir, "manifest.json"), manifestText.slice(0, 40));
    await expect(Bm25Index.load(dir)).rejects.toMatchObject({ code: "INDEX_CORRUPT", message: expect.stringContaining("manifest.json") });
    await rm(join(dir, "manifest.json"));
    await expect(Bm25Index.load(dir)).rejects.toMatchObject({ code: "INDEX_CORRUPT" });
  });

  it("refuses a hand-edited manifest: statistics and parameters are covered by its checksum", async () => {
    const dir = join(tmp, "idx");
    await (await Bm25Index.build(V1)).save(dir);
    const original = await readFile(join(dir, "manifest.json"), "utf8");
    const edits: Array<(m: Record<string, any>) => void> = [
      (m) => (m.segments[0].docCount = 1000),
      (m) => (m.skippedBlank = 7),
      (m) => (m.params.k1 = 2),
      (m) => delete m.manifestSha256,
    ];
    for (const edit of edits) {
      const manifest = JSON.parse(original);
      edit(manifest);
      await writeFile(join(dir, "manifest.json"), JSON.stringify(manifest, null, 2));
      await expect(Bm25Index.load(dir)).rejects.toMatchObject({ code: "INDEX_CORRUPT", message: expect.stringContaining("manifest.json does not match its checksum") });
    }
    // Reformatting (other whitespace, other key order) is not an edit.
    const reordered = JSON.parse(original);
    const { segments, ...rest } = reordered;
    await writeFile(join(dir, "manifest.json"), JSON.stringify({ segments, ...rest }));
    expect((await Bm25Index.load(dir)).size).toBe(3);
  });

  it("refuses file names in the manifest that leave the segment folder, even with a recomputed checksum", async () => {
    const dir = join(tmp, "idx");
    await (await Bm25Index.build(V1)).save(dir);
    await writeFile(join(tmp, "outside.txt"), "secret");
    const { createHash } = await import("node:crypto");
    const original = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8"));
    for (const name of ["../../outside.txt", "../outside.txt", "/etc/hostname", "sub/norms.u8", ".hidden"]) {
      const manifest = structuredClone(original);
      manifest.segments[0].files[name] = { bytes: 6, crc32: Number.parseInt(createHash("md5").update("secret").digest("hex").slice(0, 8), 16) };
      await writeFile(join(dir, "manifest.json"), JSON.stringify(await withManifestChecksum(manifest)));
      await expect(Bm25Index.load(dir), name).rejects.toMatchObject({ code: "INDEX_CORRUPT", message: expect.stringContaining(`"${name}"`) });
    }
  });

  it("tells the user to rebuild an index written by an older format version (no manifest checksum)", async () => {
    const dir = join(tmp, "idx");
    await (await Bm25Index.build(V1)).save(dir);
    const manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8"));
    manifest.version = 1;
    delete manifest.manifestSha256;
    await writeFile(join(dir, "manifest.json"), JSON.stringify(manifest));
    const err = await Bm25Index.load(dir).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "INDEX_VERSION_MISMATCH", details: { found: 1, expected: BM25_INDEX_VERSION } });
    expect((err as Error).message).toContain("rebuild it with `winnow index");
  });

  it("refuses to save over a file, naming it, and leaves the file as it was", async () => {
    const file = join(tmp, "notes.txt");
    await writeFile(file, "mine");
    await expect((await Bm25Index.build(V1)).save(file)).rejects.toMatchObject({ code: "INVALID_INPUT", message: expect.stringContaining(`${file} exists and is not a folder`) });
    expect(await readFile(file, "utf8")).toBe("mine");
    await expect((await Bm25Index.build(V1)).save(join(file, "idx"))).rejects.toMatchObject({ code: "INVALID_INPUT", message: expect.stringContaining(join(file, "idx")) });
  });

  it("reports consistent checksums over inconsistent files as INDEX_CORRUPT", async () => {
    const dir = join(tmp, "idx");
    await (await Bm25Index.build(V1)).save(dir);
    const manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8"));
    // Rewrite norms with one byte too few and a matching checksum: only the structure check can catch it.
    const normsPath = join(dir, manifest.segments[0].name, "norms.u8");
    const short = (await readFile(normsPath)).subarray(1);
    await writeFile(normsPath, short);
    const { crc32 } = await import("node:zlib");
    manifest.segments[0].files["norms.u8"] = { bytes: short.byteLength, crc32: crc32(short) };
    await writeFile(join(dir, "manifest.json"), JSON.stringify(await withManifestChecksum(manifest)));
    await expect(Bm25Index.load(dir)).rejects.toMatchObject({ code: "INDEX_CORRUPT", message: expect.stringContaining("per-document") });
  });

  it("refuses an index in the version 2 format (one JSON documents file) with how to rebuild it", async () => {
    const dir = join(tmp, "v2");
    await mkdir(join(dir, "seg-old"), { recursive: true });
    await writeFile(join(dir, "seg-old", "documents.jsonl"), '{"id":"a","text":"x"}\n');
    await writeFile(join(dir, "manifest.json"), JSON.stringify(await withManifestChecksum({ format: "winnow-bm25", version: 2, segment: "seg-old", files: {} })));
    const err = await Bm25Index.load(dir).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "INDEX_VERSION_MISMATCH", details: { found: 2, expected: 3 } });
    expect((err as Error).message).toMatch(/version 2, this Winnow reads version 3; rebuild it with `winnow index --dataset DIR --out /);
  });

  it("reports another format version as INDEX_VERSION_MISMATCH", async () => {
    const dir = join(tmp, "idx");
    await (await Bm25Index.build(V1)).save(dir);
    const manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8"));
    manifest.version = 99;
    await writeFile(join(dir, "manifest.json"), JSON.stringify(manifest));
    await expect(Bm25Index.load(dir)).rejects.toMatchObject({ code: "INDEX_VERSION_MISMATCH", details: { found: 99, expected: BM25_INDEX_VERSION } });
  });

  it("refuses metadata that JSON cannot hold, naming the document, and writes nothing", async () => {
    const index = await Bm25Index.build([{ id: "big", text: "x", metadata: { n: 10n } }]);
    const dir = join(tmp, "idx");
    await expect(index.save(dir)).rejects.toMatchObject({ code: "INVALID_INPUT", message: expect.stringContaining('"big"') });
    await expect(Bm25Index.load(dir)).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("reports a missing folder as NOT_FOUND and refuses to save over unrelated files", async () => {
    await expect(Bm25Index.load(join(tmp, "nope"))).rejects.toMatchObject({ code: "NOT_FOUND" });
    const dir = join(tmp, "busy");
    await mkdir(dir);
    await writeFile(join(dir, "notes.txt"), "mine");
    await expect((await Bm25Index.build(V1)).save(dir)).rejects.toMatchObject({ code: "INVALID_INPUT" });
    expect(await readdir(dir)).toEqual(["notes.txt"]);
  });
});
