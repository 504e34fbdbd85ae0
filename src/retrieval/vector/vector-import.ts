import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { InvalidInputError, WinnowError } from "../../core/errors.js";
import { readLines } from "../../eval/readers/line-reader.js";

export interface IdVector {
  id: string;
  vector: Float32Array;
}

/**
 * Bring-your-own vectors: JSONL of `{"id", "vector"}`, or a matrix (`.npy` float32/float64
 * 2-D, or raw little-endian `.f32` with `dim`) plus a file of ids, one per line, in row order.
 */
export async function readVectors(path: string, options: { idsFile?: string; dim?: number } = {}): Promise<IdVector[]> {
  const ext = extname(path).toLowerCase();
  if (ext === ".jsonl" || ext === ".json") return readJsonlVectors(path);
  if (!options.idsFile) {
    throw new InvalidInputError(`${path}: a ${ext || "raw"} vector matrix needs an ids file (one id per line, in row order)`, { field: "ids" });
  }
  // Through the shared line reader: invalid UTF-8 is an error naming the line, not U+FFFD in an id.
  const ids: string[] = [];
  for await (const { line } of readLines(options.idsFile)) if (line.length > 0) ids.push(line);
  const { rows, dim, data } = ext === ".npy" ? await readNpy(path) : await readRawF32(path, options.dim);
  if (ids.length !== rows) {
    throw new InvalidInputError(`${options.idsFile} has ${ids.length} ids but ${path} has ${rows} rows`, { field: "ids" });
  }
  return ids.map((id, i) => ({ id, vector: data.slice(i * dim, (i + 1) * dim) }));
}

async function readJsonlVectors(path: string): Promise<IdVector[]> {
  const out: IdVector[] = [];
  for await (const { line, lineNumber } of readLines(path)) {
    if (line.trim() === "") continue;
    let obj: { id?: unknown; _id?: unknown; vector?: unknown };
    try {
      obj = JSON.parse(line);
    } catch {
      throw new InvalidInputError(`${path}:${lineNumber}: not valid JSON`, { file: path, line: lineNumber });
    }
    const id = obj.id ?? obj._id;
    if ((typeof id !== "string" && typeof id !== "number") || !Array.isArray(obj.vector) || !obj.vector.every((x) => typeof x === "number")) {
      throw new InvalidInputError(`${path}:${lineNumber}: expected {"id": string, "vector": [numbers]}`, { file: path, line: lineNumber, field: "vector" });
    }
    out.push({ id: String(id), vector: Float32Array.from(obj.vector as number[]) });
  }
  return out;
}

async function readRawF32(path: string, dim: number | undefined): Promise<{ rows: number; dim: number; data: Float32Array }> {
  if (!dim || !Number.isInteger(dim) || dim < 1) {
    throw new InvalidInputError(`${path}: raw float32 vectors need --dim (the vector dimension)`, { field: "dim" });
  }
  const buf = await readFile(path);
  if (buf.length % (4 * dim) !== 0) {
    throw new InvalidInputError(`${path}: ${buf.length} bytes is not a whole number of ${dim}-dimensional float32 rows`, { field: "dim" });
  }
  const data = new Float32Array(buf.length / 4);
  new Uint8Array(data.buffer).set(buf);
  return { rows: buf.length / (4 * dim), dim, data };
}

/** NumPy .npy v1/v2/v3: little-endian float32 or float64, C order, two dimensions. */
async function readNpy(path: string): Promise<{ rows: number; dim: number; data: Float32Array }> {
  const buf = await readFile(path);
  if (buf.length < 10 || buf.readUInt8(0) !== 0x93 || buf.subarray(1, 6).toString("latin1") !== "NUMPY") {
    throw new WinnowError("INVALID_INPUT", `${path}: not a .npy file`, { details: { file: path } });
  }
  const major = buf.readUInt8(6);
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.subarray(hstart, hstart + hlen).toString("latin1");
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shape = /'shape':\s*\((\d+),\s*(\d+)\)/.exec(header);
  if (!shape || fortran || (descr !== "<f4" && descr !== "<f8")) {
    throw new InvalidInputError(`${path}: need a 2-D C-order float32/float64 array, got descr ${descr}, header ${header.trim()}`, { file: path });
  }
  const rows = Number(shape[1]);
  const dim = Number(shape[2]);
  const body = buf.subarray(hstart + hlen);
  const width = descr === "<f4" ? 4 : 8;
  if (body.length !== rows * dim * width) {
    throw new InvalidInputError(`${path}: ${body.length} bytes of data, expected ${rows * dim * width} for shape (${rows}, ${dim})`, { file: path });
  }
  const data = new Float32Array(rows * dim);
  for (let i = 0; i < rows * dim; i++) data[i] = width === 4 ? body.readFloatLE(i * 4) : body.readDoubleLE(i * 8);
  return { rows, dim, data };
}
