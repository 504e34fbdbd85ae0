/** Test support: mean |fp32 − other| over the std of the fp32 logits (the int8 error measure). */
export function errorOverSpread(fp32: readonly number[], other: readonly number[]): number {
  const mean = fp32.reduce((s, x) => s + x, 0) / fp32.length;
  const std = Math.sqrt(fp32.reduce((s, x) => s + (x - mean) ** 2, 0) / fp32.length);
  return fp32.reduce((s, x, i) => s + Math.abs(x - other[i]), 0) / fp32.length / std;
}
