import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { WinnowError } from "../core/errors.js";
import type { AuthConfig } from "./config.js";

function digest(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}

/**
 * The accepted API keys, held only as SHA-256 digests. Comparing fixed-length digests
 * with timingSafeEqual, against every key without stopping at a match, leaks neither
 * a key's length nor how many leading bytes matched.
 */
export class ApiKeySet {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = [...new Set(keys)].map(digest);
  }

  get size(): number {
    return this.digests.length;
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  matches(presented: string): boolean {
    const d = digest(presented);
    let ok = false;
    for (const known of this.digests) ok = timingSafeEqual(d, known) || ok;
    return ok;
  }
}

/** Reads one key per line; blank lines and `#` comments are skipped. */
export function readApiKeyFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new WinnowError("CONFIG_INVALID", `auth.keysFile: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, {
      details: { field: "auth.keysFile", path },
    });
  }
  const keys: string[] = [];
  // Line numbers count every line of the file, comments and blank lines included.
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const k = raw.trim();
    if (k.length === 0 || k.startsWith("#")) continue;
    if (k.length < 8) {
      throw new WinnowError("CONFIG_INVALID", `auth.keysFile: key on line ${i + 1} of ${path} is shorter than 8 characters`, {
        details: { field: "auth.keysFile", path, line: i + 1 },
      });
    }
    keys.push(k);
  }
  return keys;
}

/** Every key the configuration names: inline, from the file, and from WINNOW_API_KEYS. */
export function collectApiKeys(auth: AuthConfig, env: NodeJS.ProcessEnv = process.env): ApiKeySet {
  const keys = [...auth.keys];
  if (auth.keysFile) keys.push(...readApiKeyFile(auth.keysFile));
  if (auth.keysFromEnv && env.WINNOW_API_KEYS) {
    keys.push(
      ...env.WINNOW_API_KEYS.split(",")
        .map((k) => k.trim())
        .filter((k) => k.length > 0),
    );
  }
  return new ApiKeySet(keys);
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : undefined;
}
