import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { WinnowError } from "../core/errors.js";

let cached: string | undefined;

/**
 * The minified ECharts bundle, inlined into reports so they open offline and can be
 * mailed as one file. Resolved through Node's module resolution, so it follows the
 * installed echarts version.
 */
export function echartsBundle(): string {
  if (cached !== undefined) return cached;
  const require = createRequire(import.meta.url);
  let path: string;
  try {
    path = require.resolve("echarts/dist/echarts.min.js");
  } catch (err) {
    // An optional peer dependency (~63 MB): only HTML reports need it.
    throw new WinnowError("NOT_FOUND", "echarts is not installed: run `npm install echarts` (it draws the HTML report's charts; Winnow lists it as an optional peer dependency)", { cause: err, details: { package: "echarts" } });
  }
  cached = readFileSync(path, "utf8");
  return cached;
}

/** JSON safe to embed inside a <script> element (no `</script>` or `<!--` can close it early). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}
