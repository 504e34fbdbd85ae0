/**
 * One text's token vectors: `rows` vectors of `dims` floats, row-major in one
 * Float32Array (L2-normalized by the encoder, so a dot product is a cosine).
 */
export interface TokenMatrix {
  readonly rows: number;
  readonly dims: number;
  readonly data: Float32Array;
}

/** Normalizes every row to unit length in place (zero rows stay zero). */
export function normalizeRows(data: Float32Array, dims: number): void {
  for (let off = 0; off < data.length; off += dims) {
    let sum = 0;
    for (let j = 0; j < dims; j++) sum += data[off + j] * data[off + j];
    // torch.nn.functional.normalize's eps (1e-12), as ColBERT and fastembed use.
    const inv = 1 / Math.max(Math.sqrt(sum), 1e-12);
    for (let j = 0; j < dims; j++) data[off + j] *= inv;
  }
}
