import { fileURLToPath } from "node:url";

/**
 * Where the package root is: this file sits three levels below it both in src/
 * (src/rerankers/learned) and once built (dist/rerankers/learned), so shipped files are
 * found wherever Winnow is installed, not relative to the caller's cwd.
 */
export const PACKAGE_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** The shipped default model (trained on SciFact train + Cranfield + CISI + ADI; see models/README.md). */
export const DEFAULT_LEARNED_MODEL_PATH = fileURLToPath(new URL("../../../models/learned-default.json", import.meta.url));
