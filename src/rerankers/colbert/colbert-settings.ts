import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { WinnowError } from "../../core/errors.js";

/**
 * What a model folder says about its ColBERT recipe, read from the files the two
 * checkpoint formats ship:
 * - ColBERT (stanford-futuredata/ColBERT): `artifact.metadata`, the ColBERTConfig saved
 *   beside the checkpoint: `query_token_id`/`doc_token_id` ("[unused0]"/"[unused1]" by
 *   default, colbert/infra/config/settings.py TokenizerSettings), `query_maxlen` (32),
 *   `doc_maxlen` (180 for colbertv2.0), `dim` (128), `mask_punctuation`,
 *   `attend_to_mask_tokens`.
 * - PyLate (lightonai/pylate, models/colbert.py): `config_sentence_transformers.json`
 *   with `query_prefix`/`document_prefix` ("[Q] "/"[D] "), `query_length`,
 *   `document_length`, `attend_to_expansion_tokens`, `skiplist_words`, and the
 *   projection's output size in `1_Dense/config.json` (`out_features`).
 */
export interface ColbertSettings {
  /** The file the settings came from (named in errors). */
  file: string;
  format: "colbert" | "pylate";
  /** Marker token (text) inserted after [CLS]: [unused0] / [unused1] for BERT vocabularies. */
  queryMarker: string;
  documentMarker: string;
  /** Query length in tokens, specials and [MASK] padding included. */
  queryMaxLength: number;
  /** Longest document in tokens, specials included. */
  docMaxLength: number;
  /** Token-vector dims (the projection's output). */
  dims: number;
  /** Whether padding [MASK]s are attended to (they always take part in MaxSim). */
  attendToMaskTokens: boolean;
  /** Whether punctuation tokens are left out of document vectors (at scoring, not encoding). */
  maskPunctuation: boolean;
  /** Extra skiplist words (PyLate's `skiplist_words`); punctuation when absent. */
  skiplistWords?: string[];
  /** Marker ids given by the catalogue (XLM-R models define them as added tokens past the vocabulary). */
  markerIds?: { query: number; document: number };
}

export const ARTIFACT_METADATA = "artifact.metadata";
export const PYLATE_CONFIG = "config_sentence_transformers.json";
export const PYLATE_DENSE_CONFIG = "1_Dense/config.json";

/** Python's string.punctuation: ColBERT's and PyLate's default skiplist. */
export const PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

function notColbert(dir: string, why: string): WinnowError {
  return new WinnowError("MODEL_LOAD_FAILED", `${dir} is not a ColBERT model folder: ${why}`, { details: { field: "model", path: dir } });
}

function readJson(path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new WinnowError("MODEL_LOAD_FAILED", `${path}: not valid JSON (${(err as Error).message})`, { details: { path }, cause: err });
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new WinnowError("MODEL_LOAD_FAILED", `${path}: expected a JSON object`, { details: { path } });
  return parsed as Record<string, unknown>;
}

function positiveInt(value: unknown, file: string, field: string, fallback: number | undefined, max = 8192): number {
  if (value === undefined || value === null) {
    if (fallback === undefined) throw new WinnowError("MODEL_LOAD_FAILED", `${file}: ${field} is missing`, { details: { path: file, field } });
    return fallback;
  }
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    throw new WinnowError("MODEL_LOAD_FAILED", `${file}: ${field} must be an integer from 1 to ${max}, got ${JSON.stringify(value)}`, { details: { path: file, field } });
  }
  return value;
}

function text(value: unknown, file: string, field: string, fallback: string): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "string" || value.trim() === "") throw new WinnowError("MODEL_LOAD_FAILED", `${file}: ${field} must be a non-empty string`, { details: { path: file, field } });
  return value;
}

/** The folder's ColBERT settings, or a one-line error naming what is missing. */
export function readColbertSettings(dir: string): ColbertSettings {
  const metadataPath = join(dir, ARTIFACT_METADATA);
  if (existsSync(metadataPath)) {
    const m = readJson(metadataPath);
    return {
      file: metadataPath,
      format: "colbert",
      queryMarker: text(m.query_token_id, metadataPath, "query_token_id", "[unused0]"),
      documentMarker: text(m.doc_token_id, metadataPath, "doc_token_id", "[unused1]"),
      queryMaxLength: positiveInt(m.query_maxlen, metadataPath, "query_maxlen", 32),
      docMaxLength: positiveInt(m.doc_maxlen, metadataPath, "doc_maxlen", 180),
      dims: positiveInt(m.dim, metadataPath, "dim", 128, 4096),
      // ColBERT's own defaults (settings.py) when the file predates a field.
      attendToMaskTokens: m.attend_to_mask_tokens === undefined ? false : m.attend_to_mask_tokens === true,
      maskPunctuation: m.mask_punctuation === undefined ? true : m.mask_punctuation === true,
    };
  }
  const pylatePath = join(dir, PYLATE_CONFIG);
  if (existsSync(pylatePath)) {
    const p = readJson(pylatePath);
    const densePath = join(dir, PYLATE_DENSE_CONFIG);
    if (!existsSync(densePath)) throw notColbert(dir, `${PYLATE_CONFIG} but no projection (${PYLATE_DENSE_CONFIG}); a sentence-transformers bi-encoder is not late interaction`);
    const dense = readJson(densePath);
    const skip = p.skiplist_words;
    return {
      file: pylatePath,
      format: "pylate",
      queryMarker: text(p.query_prefix, pylatePath, "query_prefix", "[Q] "),
      documentMarker: text(p.document_prefix, pylatePath, "document_prefix", "[D] "),
      queryMaxLength: positiveInt(p.query_length, pylatePath, "query_length", 32),
      docMaxLength: positiveInt(p.document_length, pylatePath, "document_length", 180),
      dims: positiveInt(dense.out_features, densePath, "out_features", undefined, 4096),
      attendToMaskTokens: p.attend_to_expansion_tokens === true,
      maskPunctuation: true,
      skiplistWords: Array.isArray(skip) && skip.every((w) => typeof w === "string") ? (skip as string[]) : undefined,
    };
  }
  throw notColbert(dir, `no ${ARTIFACT_METADATA} (ColBERT) or ${PYLATE_CONFIG} + ${PYLATE_DENSE_CONFIG} (PyLate) with the projection and query/document settings`);
}
