import { createHash, randomBytes } from "node:crypto";
import { closeSync, createReadStream, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { mkdir, open, readFile, rename, rm, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { WinnowError } from "../../core/errors.js";
import type { StoredTokenVectors } from "../../rerankers/colbert/colbert-reranker.js";
import type { TokenMatrix } from "../../rerankers/colbert/token-matrix.js";
import { halfTable, toHalf } from "./half-float.js";
import { decodeResidual, encodeResidual, residualBytesPerToken, residualCentroidIds, type ResidualCodec } from "./residual-codec.js";

/**
 * A ColBERT token-vector store: every document's token vectors, beside a BM25 index
 * (`<index>/colbert/`). Layout:
 *
 *   manifest.json   { format, version, model, dims, compression, documents, tokens,
 *                     bytesPerToken, files: {name: {bytes, sha256}}, manifestSha256 }
 *   ids.json        document ids, in store order
 *   docs.u32        per document: first token, token count, text hash (3 × uint32)
 *   vectors.bin     tokens, `bytesPerToken` each (fp16 / fp32 rows, or residual codes)
 *   centroids.f32, buckets.f32   the residual codec (residual only)
 *
 * Written streaming into a temp folder, fsynced, then renamed into place; read by
 * offset (one positioned read per document), so a large store is never copied into
 * the JS heap. Opening checks every file's size and checksum (streamed).
 */
export const STORE_FORMAT = "winnow-colbert-store";
export const STORE_VERSION = 1;
export const STORE_FOLDER = "colbert";
export const MANIFEST = "manifest.json";

export type StoreCompression =
  | { kind: "fp32"; pooling?: number }
  | { kind: "fp16"; pooling?: number }
  | { kind: "residual"; bits: 1 | 2; centroids: number; pooling?: number };

export interface StoreManifest {
  format: string;
  version: number;
  model: { identity: string; id: string; dims: number };
  dims: number;
  compression: StoreCompression;
  documents: number;
  tokens: number;
  bytesPerToken: number;
  files: Record<string, { bytes: number; sha256: string }>;
  manifestSha256?: string;
}

/** FNV-1a of the document text: a stored document whose text changed is encoded again, not served stale. */
export function textHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function manifestChecksum(m: StoreManifest): string {
  const { manifestSha256: _own, ...rest } = m;
  return createHash("sha256").update(canonical(rest)).digest("hex");
}

export function bytesPerToken(compression: StoreCompression, dims: number): number {
  if (compression.kind === "fp32") return dims * 4;
  if (compression.kind === "fp16") return dims * 2;
  return residualBytesPerToken(dims, compression.bits);
}

/** Writes a store: `add` documents in order, then `finish` (or `abort`). */
export class TokenStoreWriter {
  private ids: string[] = [];
  private docs: number[] = [];
  private tokens = 0;
  private hash = createHash("sha256");
  private bytes = 0;
  private readonly stride: number;

  private constructor(
    private readonly dir: string,
    private readonly tmp: string,
    private readonly vectors: FileHandle,
    private readonly model: StoreManifest["model"],
    private readonly compression: StoreCompression,
    private readonly codec: ResidualCodec | undefined,
  ) {
    this.stride = bytesPerToken(compression, model.dims);
  }

  /** `dir` is the store folder (`<index>/colbert`); its parent must exist. */
  static async create(dir: string, model: StoreManifest["model"], compression: StoreCompression, codec?: ResidualCodec): Promise<TokenStoreWriter> {
    if (compression.kind === "residual" && !codec) throw new WinnowError("INTERNAL", "residual store needs its codec");
    const tmp = `${dir}.tmp-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
    await mkdir(tmp, { recursive: true });
    const vectors = await open(join(tmp, "vectors.bin"), "w");
    return new TokenStoreWriter(dir, tmp, vectors, model, compression, codec);
  }

  async add(id: string, text: string, m: TokenMatrix): Promise<void> {
    if (m.dims !== this.model.dims) throw new WinnowError("INTERNAL", `token matrix of ${m.dims} dims for a ${this.model.dims}-dim store`);
    const out = new Uint8Array(m.rows * this.stride);
    const c = this.compression;
    if (c.kind === "fp32") out.set(new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength));
    else if (c.kind === "fp16") {
      const halves = new Uint16Array(out.buffer);
      for (let i = 0; i < m.data.length; i++) halves[i] = toHalf(m.data[i]);
    } else encodeResidual(this.codec!, m.data, m.rows, out);
    await this.vectors.write(out);
    this.hash.update(out);
    this.bytes += out.byteLength;
    this.ids.push(id);
    this.docs.push(this.tokens, m.rows, textHash(text));
    this.tokens += m.rows;
    if (this.tokens > 0xffffffff) throw new WinnowError("INVALID_INPUT", `${this.dir}: more than 2^32 tokens; split the corpus`, { details: { field: "tokens", max: 0xffffffff } });
  }

  async finish(): Promise<StoreManifest> {
    await this.vectors.sync();
    await this.vectors.close();
    const files: StoreManifest["files"] = { "vectors.bin": { bytes: this.bytes, sha256: this.hash.digest("hex") } };
    const put = async (name: string, data: Uint8Array | string) => {
      const fh = await open(join(this.tmp, name), "w");
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      files[name] = { bytes: typeof data === "string" ? Buffer.byteLength(data) : data.byteLength, sha256: createHash("sha256").update(data).digest("hex") };
    };
    const u8 = (a: Float32Array | Uint32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    await put("ids.json", JSON.stringify(this.ids));
    await put("docs.u32", u8(Uint32Array.from(this.docs)));
    if (this.codec) {
      await put("centroids.f32", u8(this.codec.centroids));
      await put("buckets.f32", u8(Float32Array.from([...this.codec.cutoffs, ...this.codec.weights])));
    }
    const manifest: StoreManifest = {
      format: STORE_FORMAT,
      version: STORE_VERSION,
      model: this.model,
      dims: this.model.dims,
      compression: this.compression,
      documents: this.ids.length,
      tokens: this.tokens,
      bytesPerToken: this.stride,
      files,
    };
    manifest.manifestSha256 = manifestChecksum(manifest);
    await put(MANIFEST, JSON.stringify(manifest, null, 2) + "\n");
    // Swap folders: the old store moves aside first, so a crash leaves one complete store (old or new).
    const old = `${this.dir}.old-${randomBytes(4).toString("hex")}`;
    if (existsSync(this.dir)) await rename(this.dir, old);
    await rename(this.tmp, this.dir);
    await rm(old, { recursive: true, force: true });
    return manifest;
  }

  async abort(): Promise<void> {
    await this.vectors.close().catch(() => undefined);
    await rm(this.tmp, { recursive: true, force: true });
  }
}

function storeError(path: string, message: string, code: "INDEX_CORRUPT" | "INDEX_VERSION_MISMATCH" | "NOT_FOUND" = "INDEX_CORRUPT"): WinnowError {
  return new WinnowError(code, `${path}: ${message}; rebuild it with \`winnow index --colbert\``, { details: { path } });
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** An open store: documents by id, their vectors read from disk on demand. */
export class TokenStore implements StoredTokenVectors {
  private readonly index = new Map<string, number>();
  private readonly readBuffer: { bytes: Uint8Array };
  readonly modelIdentity: string;
  readonly dims: number;

  private constructor(
    readonly path: string,
    readonly manifest: StoreManifest,
    private readonly fd: number,
    readonly ids: readonly string[],
    private readonly docs: Uint32Array,
    readonly codec: ResidualCodec | undefined,
  ) {
    ids.forEach((id, i) => this.index.set(id, i));
    this.modelIdentity = manifest.model.identity;
    this.dims = manifest.dims;
    this.readBuffer = { bytes: new Uint8Array(1 << 16) };
  }

  /** Whether `indexDir` holds a store. */
  static exists(indexDir: string): boolean {
    return existsSync(join(indexDir, STORE_FOLDER, MANIFEST));
  }

  /** Opens `<indexDir>/colbert` (or `dir` itself when it is a store folder), verifying sizes and checksums. */
  static async open(dir: string, options: { verify?: boolean } = {}): Promise<TokenStore> {
    // An index folder has its own manifest.json (BM25): its store is the colbert/ inside.
    const folder = existsSync(join(dir, STORE_FOLDER, MANIFEST)) ? join(dir, STORE_FOLDER) : dir;
    const manifestPath = join(folder, MANIFEST);
    if (!existsSync(manifestPath)) throw storeError(folder, "no ColBERT token-vector store here (manifest.json missing)", "NOT_FOUND");
    let manifest: StoreManifest;
    try {
      manifest = JSON.parse(await readFile(manifestPath, "utf8")) as StoreManifest;
    } catch (err) {
      throw storeError(manifestPath, `not valid JSON (${(err as Error).message})`);
    }
    if (manifest?.format !== STORE_FORMAT) throw storeError(manifestPath, `not a ${STORE_FORMAT} manifest`);
    if (manifest.version !== STORE_VERSION) throw storeError(manifestPath, `store version ${String(manifest.version)}, this Winnow reads ${STORE_VERSION}`, "INDEX_VERSION_MISMATCH");
    if (manifest.manifestSha256 !== manifestChecksum(manifest)) throw storeError(manifestPath, "does not match its checksum (manifestSha256): edited or damaged");
    for (const [name, entry] of Object.entries(manifest.files)) {
      if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) throw storeError(manifestPath, `lists a file "${name}" that is not a plain name`);
      const file = join(folder, name);
      const size = existsSync(file) ? statSync(file).size : -1;
      if (size < 0) throw storeError(file, "is missing");
      if (size !== entry.bytes) throw storeError(file, `is ${size} bytes, the manifest says ${entry.bytes} (truncated or damaged)`);
      if (options.verify !== false && (await sha256OfFile(file)) !== entry.sha256) throw storeError(file, "does not match its checksum");
    }
    if (manifest.bytesPerToken !== bytesPerToken(manifest.compression, manifest.dims) || manifest.files["vectors.bin"]?.bytes !== manifest.tokens * manifest.bytesPerToken) {
      throw storeError(manifestPath, "sizes do not add up (tokens × bytesPerToken ≠ vectors.bin)");
    }
    const ids = JSON.parse(readFileSync(join(folder, "ids.json"), "utf8")) as string[];
    const raw = readFileSync(join(folder, "docs.u32"));
    const docs = new Uint32Array(raw.byteLength / 4);
    new Uint8Array(docs.buffer).set(raw);
    if (!Array.isArray(ids) || ids.length !== manifest.documents || docs.length !== manifest.documents * 3) throw storeError(folder, "ids.json / docs.u32 do not match the manifest's document count");
    let codec: ResidualCodec | undefined;
    if (manifest.compression.kind === "residual") {
      const floats = (name: string) => {
        const b = readFileSync(join(folder, name));
        const out = new Float32Array(b.byteLength / 4);
        new Uint8Array(out.buffer).set(b);
        return out;
      };
      const bits = manifest.compression.bits;
      const buckets = floats("buckets.f32");
      const n = 2 ** bits;
      codec = { dims: manifest.dims, bits, centroids: floats("centroids.f32"), cutoffs: buckets.subarray(0, n - 1), weights: buckets.subarray(n - 1) };
    }
    return new TokenStore(folder, manifest, openSync(join(folder, "vectors.bin"), "r"), ids, docs, codec);
  }

  get size(): number {
    return this.ids.length;
  }

  position(id: string): number | undefined {
    return this.index.get(id);
  }

  /** The stored vectors of `id`, or undefined when absent or its text changed since. */
  vectors(id: string, text: string): TokenMatrix | undefined {
    const i = this.index.get(id);
    if (i === undefined || this.docs[i * 3 + 2] !== textHash(text)) return undefined;
    return this.vectorsAt(i);
  }

  /** Reads document `i`'s bytes with one positioned read. */
  private bytesAt(i: number): { bytes: Uint8Array; rows: number } {
    const first = this.docs[i * 3];
    const rows = this.docs[i * 3 + 1];
    const length = rows * this.manifest.bytesPerToken;
    if (this.readBuffer.bytes.byteLength < length) this.readBuffer.bytes = new Uint8Array(length * 2);
    const buf = this.readBuffer.bytes;
    const got = readSync(this.fd, buf, 0, length, first * this.manifest.bytesPerToken);
    if (got !== length) throw storeError(join(this.path, "vectors.bin"), `short read at document ${i} (truncated?)`);
    return { bytes: buf, rows };
  }

  vectorsAt(i: number): TokenMatrix {
    const { bytes, rows } = this.bytesAt(i);
    const d = this.dims;
    const data = new Float32Array(rows * d);
    const kind = this.manifest.compression.kind;
    if (kind === "fp32") new Uint8Array(data.buffer).set(bytes.subarray(0, data.byteLength));
    else if (kind === "fp16") {
      const table = halfTable();
      for (let k = 0; k < data.length; k++) data[k] = table[bytes[2 * k] | (bytes[2 * k + 1] << 8)];
    } else decodeResidual(this.codec!, bytes, 0, rows, data);
    return { rows, dims: d, data };
  }

  /** The centroid id of each of document `i`'s tokens (residual stores). */
  centroidIdsAt(i: number): Uint16Array {
    if (!this.codec) throw new WinnowError("INTERNAL", "centroid ids exist in residual stores only");
    const { bytes, rows } = this.bytesAt(i);
    return residualCentroidIds(this.codec, bytes, 0, rows);
  }

  close(): void {
    closeSync(this.fd);
  }
}
