import type { MetadataFilter } from "../../core/types.js";

/** Which engine's query DSL to speak: they agree on multi_match and bool, differ on kNN and hybrid. */
export type EngineDialect = "opensearch" | "elasticsearch";

export interface SearchRequestPlan {
  dialect: EngineDialect;
  fields: readonly string[];
  matchType: string;
  /** A user query DSL object with "{{query}}" placeholders (replaces multi_match). */
  template?: Record<string, unknown>;
  mode: "lexical" | "knn" | "hybrid";
  knnField?: string;
  numCandidates?: number;
  filters: ReadonlyArray<Record<string, unknown>>;
  metadataPrefix: string;
  sourceFields: readonly string[];
  lexicalBoost?: number;
  knnBoost?: number;
}

const PLACEHOLDER = "{{query}}";

/** The template with every "{{query}}" inside a string replaced by the query text (never spliced into JSON source, so quotes can't break out). */
export function fillTemplate(template: unknown, text: string): unknown {
  if (typeof template === "string") return template.split(PLACEHOLDER).join(text);
  if (Array.isArray(template)) return template.map((t) => fillTemplate(t, text));
  if (template !== null && typeof template === "object") {
    return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, fillTemplate(v, text)]));
  }
  return template;
}

/** True when some string in the template holds the placeholder (a template without it would search the same thing for every query). */
export function templateHasPlaceholder(template: unknown): boolean {
  if (typeof template === "string") return template.includes(PLACEHOLDER);
  if (Array.isArray(template)) return template.some(templateHasPlaceholder);
  if (template !== null && typeof template === "object") return Object.values(template).some(templateHasPlaceholder);
  return false;
}

/** A MetadataFilter as query DSL clauses: equality → term, a list → terms, bounds → range. */
export function metadataFilterClauses(filter: MetadataFilter | undefined, prefix: string): Array<Record<string, unknown>> {
  if (!filter) return [];
  return Object.entries(filter).map(([key, value]) => {
    const field = prefix + key;
    if (Array.isArray(value)) return { terms: { [field]: value } };
    if (value !== null && typeof value === "object") return { range: { [field]: value } };
    return { term: { [field]: value } };
  });
}

function lexicalQuery(plan: SearchRequestPlan, text: string): Record<string, unknown> {
  if (plan.template) return fillTemplate(plan.template, text) as Record<string, unknown>;
  return { multi_match: { query: text, fields: [...plan.fields], type: plan.matchType } };
}

function withFilters(query: Record<string, unknown>, filters: Array<Record<string, unknown>>, boost?: number): Record<string, unknown> {
  if (filters.length === 0 && boost === undefined) return query;
  return { bool: { must: [query], ...(filters.length ? { filter: filters } : {}), ...(boost !== undefined && boost !== 1 ? { boost } : {}) } };
}

/**
 * The body of one _search request for `size` hits. Elasticsearch takes kNN as a top-level
 * `knn` section (summed with `query` in hybrid); OpenSearch as a `knn` query, and hybrid
 * as a `hybrid` query normalized by a search pipeline.
 */
export function searchBody(plan: SearchRequestPlan, text: string, vector: readonly number[] | undefined, size: number, filter: MetadataFilter | undefined): Record<string, unknown> {
  const filters = [...plan.filters, ...metadataFilterClauses(filter, plan.metadataPrefix)];
  const body: Record<string, unknown> = { size, _source: [...plan.sourceFields], track_total_hits: false };
  const lexical = plan.mode === "knn" ? undefined : lexicalQuery(plan, text);
  if (plan.dialect === "elasticsearch") {
    if (lexical) body.query = withFilters(lexical, filters, plan.mode === "hybrid" ? plan.lexicalBoost : undefined);
    if (plan.mode !== "lexical") {
      body.knn = {
        field: plan.knnField,
        query_vector: [...vector!],
        k: size,
        num_candidates: plan.numCandidates ?? Math.min(10_000, Math.max(2 * size, 100)),
        ...(filters.length ? { filter: filters } : {}),
        ...(plan.mode === "hybrid" && plan.knnBoost !== undefined && plan.knnBoost !== 1 ? { boost: plan.knnBoost } : {}),
      };
    }
    return body;
  }
  const knn = plan.mode === "lexical" ? undefined : { knn: { [plan.knnField!]: { vector: [...vector!], k: size, ...(filters.length ? { filter: { bool: { filter: filters } } } : {}) } } };
  if (plan.mode === "lexical") body.query = withFilters(lexical!, filters);
  else if (plan.mode === "knn") body.query = knn;
  else body.query = { hybrid: { queries: [withFilters(lexical!, filters), knn] } };
  return body;
}
