import { readFileSync } from "node:fs";
import { join } from "node:path";

const repoRoot = join(import.meta.dirname, "../..");

/** One subpath of package.json `exports`: what it names in dist/ and the source file tsc builds it from. */
export interface PackageEntry {
  /** "winnow", "winnow/server"… as a user imports it. */
  specifier: string;
  types: string;
  import: string;
  /** Absolute path of the src/ file that `npm run build` (rootDir src → outDir dist) turns into `import`. */
  source: string;
}

/** The package's name and its exports map, read from package.json. */
export function packageManifest(): { name: string; exports: Record<string, string | { types?: string; import?: string }> } {
  return JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));
}

/** Every entry of the exports map, with the source file each is built from. */
export function packageEntries(): PackageEntry[] {
  const { name, exports } = packageManifest();
  // String targets ("./package.json") are data, not code entries.
  const code = Object.entries(exports).filter((e): e is [string, { types?: string; import?: string }] => typeof e[1] === "object" && e[1] !== null);
  return code.map(([subpath, target]) => {
    const built = target.import ?? "";
    const source = join(repoRoot, built.replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts"));
    return { specifier: subpath === "." ? name : `${name}/${subpath.replace(/^\.\//, "")}`, types: target.types ?? "", import: built, source };
  });
}

/**
 * The source file a package specifier (`winnow`, `winnow/server`) stands for, so docs
 * snippets and tests can run from src/ without a build; undefined for anything the
 * exports map does not list.
 */
export function sourceOfSpecifier(specifier: string): string | undefined {
  return packageEntries().find((e) => e.specifier === specifier)?.source;
}
