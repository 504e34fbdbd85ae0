import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
/** Repository root and the shared datasets beside it, independent of the cwd. */
export const repoPaths = { root, sharedDatasets: resolve(root, "../shared/datasets") };
