/**
 * The safetensors format (8-byte little-endian header length, a JSON header of
 * name → {dtype, shape, data_offsets}, then the raw tensor bytes), read and written by
 * hand: it is a few lines, no npm package reads it without a native add-on, and the
 * trainer writes the same bytes from Python with struct + torch.
 */
import { open } from "node:fs/promises";
import { WinnowError } from "../core/errors.js";
import { writeStreamAtomic } from "../core/atomic-file.js";

export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  /** Byte range inside the data section. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  tensors: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** File offset where the data section starts. */
  dataStart: number;
}

/** Larger headers are refused (the format's own readers cap it at 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

const ELEMENT_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

function refuse(path: string, why: string): never {
  throw new WinnowError("MODEL_LOAD_FAILED", `${path}: not a readable safetensors file (${why})`, { details: { file: path } });
}

/** Reads only the header: tensors are then read one at a time (readFloatTensor), so memory stays one tensor. */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const handle = await open(path, "r").catch((err: NodeJS.ErrnoException) => {
    throw new WinnowError("MODEL_NOT_FOUND", `cannot open ${path}: ${err.message}`, { details: { file: path }, cause: err });
  });
  try {
    const { size } = await handle.stat();
    if (size < 8) refuse(path, `${size} bytes`);
    const head = Buffer.alloc(8);
    await handle.read(head, 0, 8, 0);
    const n = Number(head.readBigUInt64LE(0));
    if (n > MAX_HEADER_BYTES || 8 + n > size) refuse(path, `header length ${n} of a ${size}-byte file`);
    const text = Buffer.alloc(n);
    await handle.read(text, 0, n, 8);
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text.toString("utf8")) as Record<string, unknown>;
    } catch (err) {
      refuse(path, `header is not JSON: ${(err as Error).message}`);
    }
    const dataStart = 8 + n;
    const tensors = new Map<string, SafetensorsEntry>();
    for (const [name, raw] of Object.entries(json)) {
      if (name === "__metadata__") continue;
      const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const offsets = e.data_offsets as number[] | undefined;
      const shape = e.shape as number[] | undefined;
      if (typeof e.dtype !== "string" || !Array.isArray(shape) || !Array.isArray(offsets) || offsets.length !== 2) refuse(path, `tensor ${name} has no dtype, shape or data_offsets`);
      const [begin, end] = offsets;
      const bytes = (ELEMENT_BYTES[e.dtype] ?? 0) * shape.reduce((a, b) => a * b, 1);
      if (!(begin >= 0 && end >= begin && dataStart + end <= size) || (ELEMENT_BYTES[e.dtype] !== undefined && end - begin !== bytes)) {
        refuse(path, `tensor ${name}: data_offsets [${begin}, ${end}] do not fit its ${e.dtype} ${JSON.stringify(shape)} or the file`);
      }
      tensors.set(name, { dtype: e.dtype, shape, begin, end });
    }
    const metadata = (json.__metadata__ ?? {}) as Record<string, string>;
    return { tensors, metadata, dataStart };
  } finally {
    await handle.close();
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? Number.NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** One tensor as float32 (F32 as stored; F16 and BF16 widened exactly). Other dtypes are refused, naming the tensor. */
export async function readFloatTensor(path: string, header: SafetensorsHeader, name: string): Promise<Float32Array> {
  const e = header.tensors.get(name);
  if (!e) throw new WinnowError("MODEL_LOAD_FAILED", `${path}: no tensor ${name}`, { details: { file: path, tensor: name } });
  if (e.dtype !== "F32" && e.dtype !== "F16" && e.dtype !== "BF16") {
    throw new WinnowError("MODEL_LOAD_FAILED", `${path}: tensor ${name} is ${e.dtype}; fine-tuning reads F32, F16 or BF16 weights`, { details: { file: path, tensor: name, dtype: e.dtype } });
  }
  const bytes = Buffer.alloc(e.end - e.begin);
  const handle = await open(path, "r");
  try {
    await handle.read(bytes, 0, bytes.length, header.dataStart + e.begin);
  } finally {
    await handle.close();
  }
  if (e.dtype === "F32") {
    const out = new Float32Array(bytes.length / 4);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const n = bytes.length / 2;
  const out = new Float32Array(n);
  if (e.dtype === "BF16") {
    const wide = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) wide[i] = bytes.readUInt16LE(2 * i) << 16;
  } else {
    for (let i = 0; i < n; i++) out[i] = halfToFloat(bytes.readUInt16LE(2 * i));
  }
  return out;
}

export interface FloatTensor {
  shape: number[];
  data: Float32Array;
}

/**
 * Writes F32 tensors atomically (temp file, fsync, rename), names sorted as the Python
 * side writes them; the data section starts 8-byte aligned (the header padded with spaces).
 */
export async function writeSafetensors(path: string, tensors: ReadonlyMap<string, FloatTensor>, metadata: Record<string, string> = {}): Promise<void> {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const bytes = t.data.length * 4;
    if (t.shape.reduce((a, b) => a * b, 1) !== t.data.length) throw new WinnowError("INTERNAL", `tensor ${name}: shape ${JSON.stringify(t.shape)} does not hold ${t.data.length} values`);
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  header.__metadata__ = metadata;
  let text = Buffer.from(JSON.stringify(header), "utf8");
  if (text.length % 8) text = Buffer.concat([text, Buffer.alloc(8 - (text.length % 8), 0x20)]);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(text.length));
  await writeStreamAtomic(path, async (write) => {
    await write(length);
    await write(text);
    for (const name of names) {
      const d = tensors.get(name)!.data;
      await write(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    }
  });
}
