import { z } from "zod";
import { WinnowError } from "../../core/errors.js";

/** A SQL identifier we are willing to splice (quoted) into statements: letters, digits, underscore; `schema.table` allowed. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const identifier = z.string().regex(IDENTIFIER, "a SQL identifier: letters, digits and _, not starting with a digit, at most 63 characters");
const tableName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/, "a table name like docs or search.docs (letters, digits, _)");

export const postgresSchema = z
  .strictObject({
    type: z.literal("postgres"),
    /** postgres://user:password@host:5432/db (libpq URL); or give connectionEnv. */
    connection: z.string().min(1).optional(),
    /** Name of an environment variable holding the connection URL (keeps passwords out of config files). */
    connectionEnv: z.string().min(1).optional(),
    table: tableName.default("winnow_docs"),
    idColumn: identifier.default("id"),
    /** Columns searched and joined (with a space) into the document text rerankers read. */
    textColumns: z.array(identifier).min(1).default(["text"]),
    /** Searched too, and handed to rerankers as the document's title. */
    titleColumn: identifier.optional(),
    /** A jsonb column: the document's metadata, and what `filter` matches. */
    metadataColumn: identifier.optional(),
    /** A stored tsvector column over the same text (indexed with GIN); default: computed from the columns. */
    tsvectorColumn: identifier.optional(),
    /** Text search configuration (regconfig): english, simple, german… */
    language: identifier.default("english"),
    /** ts_rank_cd over tsvector (PostgreSQL's own), or BM25 from the side tables `winnow pg bm25` keeps. */
    ranking: z.enum(["ts_rank_cd", "bm25"]).default("ts_rank_cd"),
    /** any: a document matching any query word (a first stage wants recall); websearch: websearch_to_tsquery's AND, "phrases", -not, or. */
    match: z.enum(["any", "websearch"]).default("any"),
    /** BM25 side tables' name prefix (default `<table>_bm25`). */
    statsPrefix: identifier.optional(),
    k1: z.number().min(0).max(100).default(0.9),
    b: z.number().min(0).max(1).default(0.4),
    /** Connections kept open. */
    poolSize: z.number().int().min(1).max(100).default(4),
    /** statement_timeout for each search. */
    timeoutMs: z.number().int().min(1).max(600_000).default(10_000),
  })
  .refine((s) => (s.connection === undefined) !== (s.connectionEnv === undefined), { message: "give connection (a postgres:// URL) or connectionEnv (a variable holding one)", path: ["connection"] });

export type PostgresRetrieverSpec = z.infer<typeof postgresSchema>;

/** "a"."b" for a.b: identifiers are checked by the schema, quoted so reserved words and case survive. */
export function quoteIdentifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(name)) {
    throw new WinnowError("CONFIG_INVALID", `not a SQL identifier: ${JSON.stringify(name)} (letters, digits, _)`, { details: { field: "table" } });
  }
  return name.split(".").map((p) => `"${p}"`).join(".");
}

/** The BM25 side tables of a table: `<prefix>_postings`, `_docs`, `_terms`, `_stats` (in the table's schema). */
export function statsTables(table: string, prefix?: string): { postings: string; docs: string; terms: string; stats: string } {
  const [schema, name] = table.includes(".") ? table.split(".") : [undefined, table];
  const base = prefix ?? `${name}_bm25`;
  const q = (suffix: string) => quoteIdentifier(schema ? `${schema}.${base}_${suffix}` : `${base}_${suffix}`);
  return { postings: q("postings"), docs: q("docs"), terms: q("terms"), stats: q("stats") };
}
