import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, resolved from this file so tests do not depend on the cwd. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The shared IR collections beside the checkout (never copied into the repo). */
export const sharedDatasets = resolve(repoRoot, "../shared/datasets");
