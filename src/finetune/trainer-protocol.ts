/**
 * The files Node and the Python trainer (scripts/finetune/trainer.py) exchange, protocol
 * version 1 (docs/finetune.md): a job JSON, tensor sets (raw little-endian files and a
 * JSON header naming each file's dtype and shape), weights as safetensors, and progress
 * as JSON lines on the trainer's stdout. Bump TRAINER_PROTOCOL on any incompatible change:
 * each side refuses the other's version.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../core/atomic-file.js";

export const TRAINER_PROTOCOL = 1;

/** scripts/finetune/trainer.py, from src/finetune or dist/finetune alike (the package ships scripts/finetune). */
export function trainerScriptPath(): string {
  return fileURLToPath(new URL("../../scripts/finetune/trainer.py", import.meta.url));
}

export type TrainerLoss = "pointwise" | "ranknet" | "margin" | "listwise" | "margin-mse";
export const TRAINER_LOSSES: readonly TrainerLoss[] = ["pointwise", "ranknet", "margin", "listwise", "margin-mse"];

export interface TrainerHyper {
  loss: TrainerLoss;
  lr: number;
  warmup_steps: number;
  steps: number | null;
  epochs: number | null;
  batch_tokens: number;
  accumulate: number;
  seed: number;
  dropout: number;
  weight_decay: number;
  max_grad_norm: number;
  margin: number;
  eval_every: number | null;
  patience: number | null;
  checkpoint_every: number | null;
  threads: number | null;
}

export interface TrainerJob {
  protocol: typeof TRAINER_PROTOCOL;
  mode: "train" | "forward" | "roundtrip";
  architecture: Record<string, number | string>;
  /** Initial weights: safetensors under HF names, torch layout. */
  init: string;
  out: string;
  train?: string;
  validation?: string | null;
  rows?: string;
  hyper?: TrainerHyper;
  checkpoint?: string;
  resume?: boolean;
  /** sha256 over the data, weights and options: a checkpoint resumes only the run it came from. */
  fingerprint?: string;
}

export type RawDtype = "int32" | "int64" | "uint8" | "float32";
export type RawArray = Int32Array | BigInt64Array | Uint8Array | Float32Array;

function dtypeOf(a: RawArray): RawDtype {
  if (a instanceof Int32Array) return "int32";
  if (a instanceof BigInt64Array) return "int64";
  if (a instanceof Uint8Array) return "uint8";
  return "float32";
}

/** Writes each array as `<name>.<tensor>.bin` and the header `<name>.json`; returns the header's path. */
export async function writeTensorSet(dir: string, name: string, kind: string, tensors: Record<string, RawArray>, extra: Record<string, unknown> = {}): Promise<string> {
  const header: Record<string, unknown> = { protocol: TRAINER_PROTOCOL, kind, ...extra, tensors: {} };
  for (const [tensor, data] of Object.entries(tensors)) {
    const file = `${name}.${tensor}.bin`;
    await writeFileAtomic(join(dir, file), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    (header.tensors as Record<string, unknown>)[tensor] = { file, dtype: dtypeOf(data), shape: [data.length] };
  }
  const path = join(dir, `${name}.json`);
  await writeFileAtomic(path, JSON.stringify(header, null, 1) + "\n");
  return path;
}

export async function sha256File(path: string, hash = createHash("sha256")): Promise<string> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Packed token rows, as the trainer's Rows reads them. */
export interface PackedRows {
  ids: number[];
  types: number[];
  offsets: number[];
}

export function packedRowTensors(rows: PackedRows): Record<string, RawArray> {
  return {
    input_ids: Int32Array.from(rows.ids),
    token_type_ids: Uint8Array.from(rows.types),
    row_offsets: BigInt64Array.from(rows.offsets, (v) => BigInt(v)),
  };
}
