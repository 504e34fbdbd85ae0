/**
 * A ColBERT encoder graph: the BERT body that buildModel emits for an "encoder" head,
 * then ColBERT's `linear` projection (no bias) from hidden size to the token-vector
 * dimension. stanford-futuredata/ColBERT (colbert/modeling/colbert.py, HF_ColBERT)
 * defines it as `nn.Linear(hidden_size, dim, bias=False)` applied to every output
 * token; PyLate keeps it as its `1_Dense` module (bias false as well). L2
 * normalization is NOT in the graph: the encoder does it in JS (one place), so a
 * real export that already normalizes is still correct (normalizing twice is a no-op).
 */
import type { ModelPreset } from "./presets.js";
import { SeededRandom } from "../core/seeded-random.js";
import { DataType, floatTensor, tensorValueInfo, type ModelProto } from "./onnx-graph.js";
import type { WeightMap } from "./bert-graph.js";

/** The graph's one output: [batch, sequence, dims], projected, not normalized. */
export const COLBERT_OUTPUT = "token_embeddings";
/** The projection's name, as in the ColBERT checkpoints' state dict (`linear.weight`). */
export const COLBERT_PROJECTION = "linear.weight";

/** Settings a ColBERT preset adds to its body: what artifact.metadata records. */
export interface ColbertPresetSettings {
  dims: number;
  queryMaxLength: number;
  docMaxLength: number;
}

/** The seeded projection, stored [hidden, dims] (the layout MatMul takes; torch keeps it [dims, hidden]). */
export function colbertProjectionWeight(preset: ModelPreset, dims: number, seed: number): { dims: number[]; data: Float32Array } {
  // Its own stream (seed + 1) so the body's weights equal those of the same preset without a head.
  const rng = new SeededRandom((seed + 1) >>> 0);
  return { dims: [preset.hidden, dims], data: rng.fill(preset.hidden * dims, 1 / Math.sqrt(preset.hidden)) };
}

/**
 * Turns an encoder model (output `last_hidden_state`) into a ColBERT one: the
 * Identity that names the output becomes a MatMul with `linear.weight`.
 */
export function addColbertProjection(model: ModelProto, weights: WeightMap, dims: number): ModelProto {
  const graph = model.graph!;
  const projection = weights.get(COLBERT_PROJECTION);
  if (!projection || projection.dims[1] !== dims) throw new Error(`internal: ${COLBERT_PROJECTION} [hidden, ${dims}] missing`);
  const nodes = graph.node ?? [];
  const identity = nodes.find((n) => n.opType === "Identity" && n.output?.[0] === "last_hidden_state");
  if (!identity) throw new Error("internal: the encoder graph has no last_hidden_state Identity");
  const rewritten = nodes.map((n) =>
    n === identity ? { ...n, name: "colbert_projection", opType: "MatMul", input: [identity.input![0], COLBERT_PROJECTION], output: [COLBERT_OUTPUT] } : n,
  );
  return {
    ...model,
    graph: {
      ...graph,
      node: rewritten,
      initializer: [...(graph.initializer ?? []), floatTensor(COLBERT_PROJECTION, projection.dims, projection.data)],
      output: [tensorValueInfo(COLBERT_OUTPUT, DataType.FLOAT, ["batch_size", "sequence_length", dims])],
    },
  };
}

/**
 * artifact.metadata as ColBERT (v2) writes it beside a checkpoint (colbert/infra/config:
 * ColBERTConfig.save_for_checkpoint), with the fields the loader reads: the marker
 * tokens ([unused0]/[unused1] in BERT vocabularies), query/doc lengths, dim, and
 * whether query [MASK]s are attended to.
 */
export function colbertArtifactMetadata(name: string, settings: ColbertPresetSettings): Record<string, unknown> {
  return {
    query_token_id: "[unused0]",
    doc_token_id: "[unused1]",
    query_token: "[Q]",
    doc_token: "[D]",
    query_maxlen: settings.queryMaxLength,
    doc_maxlen: settings.docMaxLength,
    dim: settings.dims,
    similarity: "cosine",
    mask_punctuation: true,
    attend_to_mask_tokens: true,
    interaction: "colbert",
    checkpoint: `winnow-generated/${name}`,
  };
}
