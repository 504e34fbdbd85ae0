/**
 * A plain float64 forward pass of the Qwen2/Qwen3 decoder and of ModernBERT, written from
 * the architectures (transformers' modeling_qwen3.py / modeling_modernbert.py), not from
 * the ONNX graphs: one unpadded sequence at a time, weights read from the generated
 * model's initializers by their Hugging Face names. The oracle the parity tests hold ONNX
 * Runtime's padded, batched runs against; slow by design.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { WinnowError } from "../core/errors.js";
import { loadModel, tensorDims, tensorValues } from "./onnx-graph.js";
import { erf } from "./reference-forward.js";

interface Param {
  dims: number[];
  v: Float64Array;
}
type Rows = Float64Array[];

async function readParams(modelDir: string): Promise<{ config: Record<string, unknown>; params: Map<string, Param> }> {
  const config = JSON.parse(readFileSync(join(modelDir, "config.json"), "utf8")) as Record<string, unknown>;
  const model = await loadModel(join(modelDir, "onnx", "model.onnx"));
  const params = new Map<string, Param>();
  for (const t of model.graph!.initializer ?? []) params.set(t.name ?? "", { dims: tensorDims(t), v: tensorValues(t) });
  return { config, params };
}

function param(params: Map<string, Param>, name: string): Param {
  const p = params.get(name);
  if (!p) throw new WinnowError("MODEL_LOAD_FAILED", `weight ${name} not found (the reference pass reads generated models only)`, { details: { weight: name } });
  return p;
}

/** x [rows, in] · W [in, out] (+ b). */
function linear(x: Rows, w: Param, b?: Param): Rows {
  const [nIn, nOut] = w.dims;
  return x.map((row) => {
    const out = b ? Float64Array.from(b.v) : new Float64Array(nOut);
    for (let i = 0; i < nIn; i++) {
      const xi = row[i];
      const off = i * nOut;
      for (let o = 0; o < nOut; o++) out[o] += xi * w.v[off + o];
    }
    return out;
  });
}

/** Rotary embedding (rotate_half convention) of one head vector at position `pos`. */
function rope(x: Float64Array, pos: number, theta: number): Float64Array {
  const d = x.length;
  const half = d / 2;
  const out = new Float64Array(d);
  for (let i = 0; i < half; i++) {
    const angle = pos / Math.pow(theta, (2 * i) / d);
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    out[i] = x[i] * c - x[i + half] * s;
    out[i + half] = x[i + half] * c + x[i] * s;
  }
  return out;
}

/** softmax(q·k / sqrt(d)) · v over the keys `visible(i, j)` allows, per query row. */
function attend(q: Float64Array[], k: Float64Array[], v: Float64Array[], visible: (i: number, j: number) => boolean): Float64Array[] {
  const d = q[0].length;
  return q.map((qi, i) => {
    const scores: number[] = [];
    const keys: number[] = [];
    for (let j = 0; j < k.length; j++) {
      if (!visible(i, j)) continue;
      let s = 0;
      for (let e = 0; e < d; e++) s += qi[e] * k[j][e];
      scores.push(s / Math.sqrt(d));
      keys.push(j);
    }
    const max = Math.max(...scores);
    const exps = scores.map((s) => Math.exp(s - max));
    const total = exps.reduce((a, b) => a + b, 0);
    const out = new Float64Array(d);
    keys.forEach((j, n) => {
      const w = exps[n] / total;
      for (let e = 0; e < d; e++) out[e] += w * v[j][e];
    });
    return out;
  });
}

const gelu = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));

export class ReferenceDecoder {
  private constructor(
    private readonly config: Record<string, unknown>,
    private readonly params: Map<string, Param>,
  ) {}

  static async load(modelDir: string): Promise<ReferenceDecoder> {
    const { config, params } = await readParams(modelDir);
    return new ReferenceDecoder(config, params);
  }

  private p(name: string): Param {
    return param(this.params, name);
  }

  private rmsNorm(x: Float64Array, name: string): Float64Array {
    const g = this.p(name).v;
    const eps = this.config.rms_norm_eps as number;
    const ms = x.reduce((s, v) => s + v * v, 0) / x.length;
    const inv = 1 / Math.sqrt(ms + eps);
    return x.map((v, i) => v * inv * g[i]);
  }

  private maybeBias(name: string): Param | undefined {
    return this.params.get(name);
  }

  /** Logits of `tokenIds` at the last position of one unpadded sequence (positions 0..n-1). */
  lastLogits(ids: readonly number[], tokenIds: readonly number[]): number[] {
    const c = this.config as Record<string, number & boolean & string>;
    const H = c.hidden_size;
    const heads = c.num_attention_heads;
    const kvHeads = c.num_key_value_heads;
    const d = c.head_dim ?? H / heads;
    const theta = c.rope_theta;
    const qwen3 = c.model_type === "qwen3";
    const emb = this.p("model.embed_tokens.weight");
    let x: Rows = ids.map((id) => emb.v.slice(id * H, (id + 1) * H));
    for (let l = 0; l < c.num_hidden_layers; l++) {
      const L = `model.layers.${l}`;
      const h = x.map((r) => this.rmsNorm(r, `${L}.input_layernorm.weight`));
      const proj = (name: string) => linear(h, this.p(`${L}.self_attn.${name}.weight`), this.maybeBias(`${L}.self_attn.${name}.bias`));
      const q = proj("q_proj");
      const k = proj("k_proj");
      const v = proj("v_proj");
      const ctx: Rows = ids.map(() => new Float64Array(heads * d));
      for (let hd = 0; hd < heads; hd++) {
        const kv = Math.floor(hd / (heads / kvHeads)); // repeat_kv: head h reads kv head h // n_rep
        // Qwen3 normalizes each head's q and k (q_norm / k_norm) before the rotary embedding.
        const headOf = (rows: Rows, n: number, norm?: string): Rows =>
          rows.map((r) => {
            const vec: Float64Array = r.slice(n * d, (n + 1) * d);
            return norm ? this.rmsNorm(vec, norm) : vec;
          });
        const qh = headOf(q, hd, qwen3 ? `${L}.self_attn.q_norm.weight` : undefined).map((vec, pos) => rope(vec, pos, theta));
        const kh = headOf(k, kv, qwen3 ? `${L}.self_attn.k_norm.weight` : undefined).map((vec, pos) => rope(vec, pos, theta));
        const vh = headOf(v, kv);
        attend(qh, kh, vh, (i, j) => j <= i).forEach((o, i) => ctx[i].set(o, hd * d));
      }
      const attnOut = linear(ctx, this.p(`${L}.self_attn.o_proj.weight`));
      x = x.map((r, i) => r.map((val, e) => val + attnOut[i][e]));
      const y = x.map((r) => this.rmsNorm(r, `${L}.post_attention_layernorm.weight`));
      const gate = linear(y, this.p(`${L}.mlp.gate_proj.weight`));
      const up = linear(y, this.p(`${L}.mlp.up_proj.weight`));
      const act = gate.map((r, i) => r.map((g, e) => (g / (1 + Math.exp(-g))) * up[i][e]));
      const down = linear(act, this.p(`${L}.mlp.down_proj.weight`));
      x = x.map((r, i) => r.map((val, e) => val + down[i][e]));
    }
    const last = this.rmsNorm(x[x.length - 1], "model.norm.weight");
    const tied = c.tie_word_embeddings;
    return tokenIds.map((t) => {
      let s = 0;
      if (tied) for (let e = 0; e < H; e++) s += last[e] * emb.v[t * H + e];
      else {
        const w = this.p("lm_head.weight");
        const V = w.dims[1];
        for (let e = 0; e < H; e++) s += last[e] * w.v[e * V + t];
      }
      return s;
    });
  }
}

export class ReferenceModernBert {
  private constructor(
    private readonly config: Record<string, unknown>,
    private readonly params: Map<string, Param>,
  ) {}

  static async load(modelDir: string): Promise<ReferenceModernBert> {
    const { config, params } = await readParams(modelDir);
    return new ReferenceModernBert(config, params);
  }

  private layerNorm(x: Float64Array, name: string): Float64Array {
    const g = param(this.params, name).v;
    const eps = this.config.norm_eps as number;
    const mean = x.reduce((s, v) => s + v, 0) / x.length;
    const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length;
    const inv = 1 / Math.sqrt(variance + eps);
    return x.map((v, i) => (v - mean) * inv * g[i]);
  }

  /** The classification logit(s) of one unpadded sequence. */
  logits(ids: readonly number[]): number[] {
    const c = this.config as Record<string, number & string>;
    const H = c.hidden_size;
    const heads = c.num_attention_heads;
    const d = H / heads;
    const p = (n: string) => param(this.params, n);
    const emb = p("model.embeddings.tok_embeddings.weight");
    let x: Rows = ids.map((id) => this.layerNorm(emb.v.slice(id * H, (id + 1) * H), "model.embeddings.norm.weight"));
    const half = Math.floor(c.local_attention / 2);
    for (let l = 0; l < c.num_hidden_layers; l++) {
      const L = `model.layers.${l}`;
      const global = l % c.global_attn_every_n_layers === 0;
      const theta = global ? c.global_rope_theta : c.local_rope_theta;
      const h = l === 0 ? x : x.map((r) => this.layerNorm(r, `${L}.attn_norm.weight`));
      const qkv = linear(h, p(`${L}.attn.Wqkv.weight`)); // [s, 3H]: q | k | v, each heads × d
      const ctx: Rows = ids.map(() => new Float64Array(H));
      for (let hd = 0; hd < heads; hd++) {
        const part = (which: number) => qkv.map((r) => r.slice(which * H + hd * d, which * H + (hd + 1) * d));
        const q = part(0).map((vec, pos) => rope(vec, pos, theta));
        const k = part(1).map((vec, pos) => rope(vec, pos, theta));
        attend(q, k, part(2), (i, j) => global || Math.abs(i - j) <= half).forEach((o, i) => ctx[i].set(o, hd * d));
      }
      const attnOut = linear(ctx, p(`${L}.attn.Wo.weight`));
      x = x.map((r, i) => r.map((val, e) => val + attnOut[i][e]));
      const wi = linear(x.map((r) => this.layerNorm(r, `${L}.mlp_norm.weight`)), p(`${L}.mlp.Wi.weight`));
      const I = wi[0].length / 2;
      const act = wi.map((r) => Float64Array.from({ length: I }, (_, e) => gelu(r[e]) * r[I + e]));
      const out = linear(act, p(`${L}.mlp.Wo.weight`));
      x = x.map((r, i) => r.map((val, e) => val + out[i][e]));
    }
    x = x.map((r) => this.layerNorm(r, "model.final_norm.weight"));
    const pooled = c.classifier_pooling === "cls" ? x[0] : x.reduce((acc, r) => acc.map((v, e) => v + r[e] / x.length), new Float64Array(H));
    const headed = this.layerNorm(linear([pooled], p("head.dense.weight"))[0].map(gelu), "head.norm.weight");
    return Array.from(linear([headed], p("classifier.weight"), p("classifier.bias"))[0]);
  }
}
