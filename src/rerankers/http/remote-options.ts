import { z } from "zod";
import { WinnowError } from "../../core/errors.js";

/**
 * Options every remote reranker (hosted API or LLM endpoint) shares, as a zod shape
 * that family schemas extend. Defaults suit real vendors; tests shrink the delays.
 */
export const remoteOptionsShape = {
  baseUrl: z.url({ protocol: /^https?$/ }).optional(),
  apiKey: z.string().min(1).optional(),
  /** Name of the environment variable holding the key (overrides the family's default names). */
  apiKeyEnv: z.string().min(1).optional(),
  timeoutMs: z.number().int().positive().max(600_000).default(30_000),
  maxRetries: z.number().int().min(0).max(10).default(3),
  backoffBaseMs: z.number().int().min(0).max(60_000).default(500),
  backoffMaxMs: z.number().int().min(0).max(300_000).default(8_000),
  retryAfterCapMs: z.number().int().min(0).max(3_600_000).default(60_000),
  concurrency: z.number().int().min(1).max(64).default(4),
  onError: z.enum(["throw", "fallback"]).default("throw"),
};

/**
 * Validates a family's options; on failure throws CONFIG_INVALID naming the first bad
 * field and what was expected. The value itself is never echoed (it may be a key).
 */
export function parseRerankerOptions<S extends z.ZodType>(schema: S, input: unknown, family: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue.path.length > 0 ? issue.path.join(".") : (issue as { keys?: string[] }).keys?.join(", ") ?? "(options)";
  throw new WinnowError("CONFIG_INVALID", `${family} reranker option \`${field}\`: ${issue.message}`, {
    details: { field, family },
  });
}

/** The API key from options, else the first set environment variable; undefined when none. */
export function resolveApiKey(apiKey: string | undefined, apiKeyEnv: string | undefined, defaults: readonly string[], env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (apiKey) return apiKey;
  for (const name of apiKeyEnv ? [apiKeyEnv] : defaults) {
    const v = env[name];
    if (v && v.trim() !== "") return v.trim();
  }
  return undefined;
}
