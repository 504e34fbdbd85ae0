import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, resolved from this file so tests do not depend on the cwd. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The shared IR collections beside the checkout (never copied into the repo). */
export const sharedDatasets = resolve(repoRoot, "../shared/datasets");
export const repoPaths = { root: repoRoot, sharedDatasets };

/**
 * A shared collection and whether it is here. Tests that read one skip only when it is
 * absent, and their title says so (`skipNote`), so a skipped run is never mistaken for a pass.
 */
export function sharedDataset(name: string): { dir: string; present: boolean; skipNote: string } {
  const dir = join(sharedDatasets, name);
  const present = existsSync(join(dir, "corpus.jsonl"));
  return { dir, present, skipNote: present ? "" : ` (skipped: ${dir} is absent)` };
}
