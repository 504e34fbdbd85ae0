/**
 * A plain float64 forward pass of BERT / XLM-R, written from the architecture
 * (not from the ONNX graph), reading the weights of a generated model from its
 * ONNX initializers by their Hugging Face names. It is the independent oracle
 * the tests hold ONNX Runtime, the quantizer and the fusion pass against; slow
 * by design (no batching tricks, no float32).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { WinnowError } from "../core/errors.js";
import { loadModel, tensorDims, tensorValues } from "./onnx-graph.js";

interface RefConfig {
  family: "bert" | "xlmr";
  hidden: number;
  heads: number;
  layers: number;
  eps: number;
  padTokenId: number;
  numLabels: number;
}

interface Param {
  dims: number[];
  v: Float64Array;
}

/** erf to ~1e-15: Taylor series below 3, Laplace continued fraction for erfc above. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 100; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  let frac = ax;
  for (let k = 60; k >= 1; k--) frac = ax + k / 2 / frac;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / frac;
  return Math.sign(x) * (1 - erfc);
}

export class ReferenceBert {
  private constructor(
    private readonly config: RefConfig,
    private readonly params: Map<string, Param>,
  ) {}

  /** Loads a model folder written by `generateModel` (config.json + onnx/model.onnx). */
  static async load(modelDir: string): Promise<ReferenceBert> {
    const config = JSON.parse(readFileSync(join(modelDir, "config.json"), "utf8")) as Record<string, number & string>;
    const model = await loadModel(join(modelDir, "onnx", "model.onnx"));
    const params = new Map<string, Param>();
    for (const t of model.graph!.initializer ?? []) params.set(t.name ?? "", { dims: tensorDims(t), v: tensorValues(t) });
    return new ReferenceBert(
      {
        family: config.model_type === "xlm-roberta" ? "xlmr" : "bert",
        hidden: config.hidden_size,
        heads: config.num_attention_heads,
        layers: config.num_hidden_layers,
        eps: config.layer_norm_eps,
        padTokenId: config.pad_token_id,
        numLabels: config.num_labels ?? 0,
      },
      params,
    );
  }

  private p(name: string): Param {
    const p = this.params.get(name);
    if (!p) throw new WinnowError("MODEL_LOAD_FAILED", `weight ${name} not found (the reference pass reads generated models only)`, { details: { weight: name } });
    return p;
  }

  /** x [rows, in] · W [in, out] + b. */
  private linear(x: Float64Array[], name: string): Float64Array[] {
    const w = this.p(`${name}.weight`);
    const b = this.p(`${name}.bias`).v;
    const [nIn, nOut] = w.dims;
    return x.map((row) => {
      const out = Float64Array.from(b);
      for (let i = 0; i < nIn; i++) {
        const xi = row[i];
        const off = i * nOut;
        for (let o = 0; o < nOut; o++) out[o] += xi * w.v[off + o];
      }
      return out;
    });
  }

  private layerNorm(x: Float64Array[], name: string): Float64Array[] {
    const g = this.p(`${name}.weight`).v;
    const b = this.p(`${name}.bias`).v;
    return x.map((row) => {
      const mean = row.reduce((s, v) => s + v, 0) / row.length;
      const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / row.length;
      const inv = 1 / Math.sqrt(variance + this.config.eps);
      return row.map((v, i) => (v - mean) * inv * g[i] + b[i]);
    });
  }

  private encode(ids: number[], mask: number[], types: number[] | undefined): Float64Array[] {
    const { hidden: H, heads, family, padTokenId } = this.config;
    const pre = family === "xlmr" ? "roberta." : "bert.";
    const word = this.p(`${pre}embeddings.word_embeddings.weight`).v;
    const pos = this.p(`${pre}embeddings.position_embeddings.weight`).v;
    const type = this.p(`${pre}embeddings.token_type_embeddings.weight`).v;
    let running = 0;
    const positions = ids.map((id, t) => {
      if (family === "bert") return t;
      if (id === padTokenId) return padTokenId;
      return padTokenId + ++running;
    });
    let x: Float64Array[] = ids.map((id, t) => {
      const row = new Float64Array(H);
      const tt = family === "bert" ? (types?.[t] ?? 0) : 0;
      for (let h = 0; h < H; h++) row[h] = word[id * H + h] + type[tt * H + h] + pos[positions[t] * H + h];
      return row;
    });
    x = this.layerNorm(x, `${pre}embeddings.LayerNorm`);
    const d = H / heads;
    const S = ids.length;
    for (let l = 0; l < this.config.layers; l++) {
      const L = `${pre}encoder.layer.${l}`;
      const q = this.linear(x, `${L}.attention.self.query`);
      const k = this.linear(x, `${L}.attention.self.key`);
      const v = this.linear(x, `${L}.attention.self.value`);
      const ctx = Array.from({ length: S }, () => new Float64Array(H));
      for (let h = 0; h < heads; h++) {
        for (let i = 0; i < S; i++) {
          const scores = new Float64Array(S);
          let max = -Infinity;
          for (let j = 0; j < S; j++) {
            if (!mask[j]) {
              scores[j] = -Infinity; // masked keys get no weight
              continue;
            }
            let s = 0;
            for (let e = 0; e < d; e++) s += q[i][h * d + e] * k[j][h * d + e];
            scores[j] = s / Math.sqrt(d);
            max = Math.max(max, scores[j]);
          }
          let total = 0;
          for (let j = 0; j < S; j++) total += scores[j] = Math.exp(scores[j] - max);
          for (let j = 0; j < S; j++) {
            const w = scores[j] / total;
            if (w === 0) continue;
            for (let e = 0; e < d; e++) ctx[i][h * d + e] += w * v[j][h * d + e];
          }
        }
      }
      const attn = this.layerNorm(this.linear(ctx, `${L}.attention.output.dense`).map((r, i) => r.map((val, e) => val + x[i][e])), `${L}.attention.output.LayerNorm`);
      const inter = this.linear(attn, `${L}.intermediate.dense`).map((r) => r.map((val) => 0.5 * val * (1 + erf(val / Math.SQRT2))));
      x = this.layerNorm(this.linear(inter, `${L}.output.dense`).map((r, i) => r.map((val, e) => val + attn[i][e])), `${L}.output.LayerNorm`);
    }
    return x;
  }

  /** last_hidden_state for one sequence: [seq, hidden]. */
  hiddenStates(ids: number[], mask: number[], types?: number[]): Float64Array[] {
    return this.encode(ids, mask, types);
  }

  /** Classification logits for one sequence: [num_labels]. */
  logits(ids: number[], mask: number[], types?: number[]): Float64Array {
    if (this.config.numLabels === 0) {
      throw new WinnowError("INVALID_INPUT", "this model has no classification head (num_labels is 0)", { details: { field: "num_labels" } });
    }
    const hidden = this.encode(ids, mask, types);
    const head = this.config.family === "xlmr" ? ["classifier.dense", "classifier.out_proj"] : ["bert.pooler.dense", "classifier"];
    const pooled = this.linear([hidden[0]], head[0]).map((r) => r.map(Math.tanh));
    return this.linear(pooled, head[1])[0];
  }
}
