/**
 * HNSW (hnswlib-node) against exact search: recall@10 of the approximate index against
 * the exact top 10, query throughput of both, and build time.
 *
 * Data: `lowrank` (default) draws vectors from a 32-dimensional latent space mapped into
 * `dim` dimensions plus noise, which is how real sentence embeddings behave (low intrinsic
 * dimension); `random` draws i.i.d. components, the worst case for any ANN graph.
 *
 *   npm run bench:ann -- [--quick] [--data lowrank|random] [--n 100000] [--dim 384] [--queries 200] [--ef 32,64,128,256]
 */
import { parseArgs } from "node:util";
import { ExactVectorIndex } from "../src/retrieval/vector/exact-vector-index.js";
import { HnswVectorIndex } from "../src/retrieval/vector/hnsw-vector-index.js";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    n: { type: "string" },
    dim: { type: "string", default: "384" },
    queries: { type: "string", default: "200" },
    ef: { type: "string", default: "32,64,128,256" },
    data: { type: "string", default: "lowrank" },
  },
});
const n = Number(values.n ?? (values.quick ? 10_000 : 100_000));
const data = values.data!;
if (data !== "lowrank" && data !== "random") throw new Error(`--data must be lowrank or random, got ${data}`);
const dim = Number(values.dim);
const nq = Number(values.queries);
const efs = values.ef!.split(",").map(Number);
const k = 10;

// Gaussian-ish components (sum of uniforms) so directions are spread over the sphere.
const gauss = () => Math.random() + Math.random() + Math.random() - 1.5;
const latentDim = 32;
const mixing = Array.from({ length: dim }, () => Float32Array.from({ length: latentDim }, gauss));
function sample(): Float32Array {
  if (data === "random") return Float32Array.from({ length: dim }, gauss);
  const z = Float32Array.from({ length: latentDim }, gauss);
  return Float32Array.from({ length: dim }, (_, r) => {
    let s = 0;
    for (let j = 0; j < latentDim; j++) s += mixing[r][j] * z[j];
    return s + 0.3 * gauss();
  });
}
console.log(`bench:ann — ${n} ${data} unit vectors of dimension ${dim}, ${nq} queries, recall@${k} against exact search`);
const entries = Array.from({ length: n }, (_, i) => ({ id: String(i), vector: sample() }));
const exact = ExactVectorIndex.build(entries);
entries.length = 0;
const queries = Array.from({ length: nq }, () => {
  const v = sample();
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
});

let t = performance.now();
const truth = queries.map((q) => new Set(exact.search(q, k).map((h) => h.index)));
const exactMs = (performance.now() - t) / nq;
console.log(`exact: ${exactMs.toFixed(2)} ms/query (${(1000 / exactMs).toFixed(0)} queries/s), recall 1.000`);

t = performance.now();
const built = HnswVectorIndex.build(exact, { m: 16, efConstruction: 200 });
console.log(`hnsw build (M=16, efConstruction=200): ${((performance.now() - t) / 1000).toFixed(1)} s`);
for (const ef of efs) {
  const ann = built;
  ann.setEfSearch(ef);
  let found = 0;
  t = performance.now();
  for (const [i, q] of queries.entries()) found += ann.search(q, k).filter((h) => truth[i].has(h.index)).length;
  const ms = (performance.now() - t) / nq;
  console.log(`hnsw ef=${String(ef).padStart(4)}: recall@${k} ${(found / (nq * k)).toFixed(3)}, ${ms.toFixed(3)} ms/query, ${(exactMs / ms).toFixed(1)}× exact's throughput`);
}
