import type { FastifyReply, FastifyRequest } from "fastify";

/** A rerank route's body: the JSON schema its known fields are checked against. */
export interface RerankBodySchema {
  required: readonly string[];
  properties: Record<string, unknown>;
}

const ignored = new WeakMap<FastifyRequest, string[]>();

// Named in the header and the warnings at most this many, each cut to this length, so
// a body of thousands of odd keys cannot make a response header no client can read.
const MAX_NAMED = 16;
const MAX_NAME_CHARS = 64;

function named(keys: readonly string[]): string[] {
  const out = keys.slice(0, MAX_NAMED).map((k) => (k.length > MAX_NAME_CHARS ? `${k.slice(0, MAX_NAME_CHARS)}…` : k));
  if (keys.length > MAX_NAMED) out.push(`(${keys.length - MAX_NAMED} more)`);
  return out;
}

/** The response header listing the top-level fields a request sent that the route does not know. */
export const IGNORED_FIELDS_HEADER = "x-winnow-ignored-fields";

/**
 * The body schema and the preValidation step every rerank route shares, making them as
 * lenient as Cohere's and TEI's own servers: the Cohere SDKs send unset optional fields
 * as JSON `null` (`max_chunks_per_doc: null`, `top_n: null`…) and newer clients send
 * fields older servers do not know. So, before the schema runs: `null` in an optional
 * field means absent, and an unknown top-level field is dropped, logged at debug and
 * listed in the `x-winnow-ignored-fields` header (Cohere routes also list it in
 * `meta.warnings`, see ignoredFieldWarnings). Known fields keep their strict types:
 * a wrong type still answers 400 naming the field.
 */
export function rerankBody(schema: RerankBodySchema) {
  const required = new Set(schema.required);
  const body = { type: "object", required: [...schema.required], properties: schema.properties } as const;
  const preValidation = async (request: FastifyRequest, reply: FastifyReply) => {
    const b = request.body;
    if (b === null || typeof b !== "object" || Array.isArray(b)) return; // the schema refuses it
    const fields = b as Record<string, unknown>;
    const unknown: string[] = [];
    for (const key of Object.keys(fields)) {
      // Own properties only: "constructor" or "toString" are unknown fields, not schema entries.
      if (!Object.hasOwn(schema.properties, key)) {
        unknown.push(key);
        delete fields[key];
      } else if (fields[key] === null && !required.has(key)) {
        delete fields[key];
      }
    }
    if (unknown.length > 0) {
      const names = named(unknown);
      ignored.set(request, names);
      request.log.debug({ ignoredFields: names }, "ignored unknown request fields");
      // Percent-encoded: a header value cannot carry every character a JSON key can.
      reply.header(IGNORED_FIELDS_HEADER, names.map((k) => encodeURIComponent(k)).join(","));
    }
  };
  return { body, preValidation };
}

/** One `meta.warnings` line per unknown field the request sent. */
export function ignoredFieldWarnings(request: FastifyRequest): string[] {
  return (ignored.get(request) ?? []).map((k) => `${k}: unknown field, ignored`);
}
