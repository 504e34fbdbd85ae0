import { createHash } from "node:crypto";

/**
 * Score cache keys: one per (scorer identity, query, document text). The scorer
 * identity already folds in model id, revision, dtype and max length (and anything
 * else that changes a score, e.g. windowing), so two models never share an entry.
 * Keys are hashes, not texts, so an entry costs ~60 bytes however long the document,
 * and the same key works for an in-process LRU and for Redis.
 */

function digest(parts: readonly string[]): string {
  const h = createHash("sha1");
  for (const p of parts) h.update(p).update("\u0000");
  return h.digest("base64url");
}

/** Keys for `texts` scored against `query` by the scorer `scorerId`, in input order. */
export function scoreCacheKeys(scorerId: string, query: string, texts: readonly string[]): string[] {
  // The (scorer, query) prefix is hashed once per request; sha1 runs at ~1 GB/s in
  // node:crypto, far below a forward pass, so hashing every document is cheap.
  const prefix = digest([scorerId, query]).slice(0, 16);
  return texts.map((t) => `${prefix}:${createHash("sha1").update(t).digest("base64url")}`);
}
