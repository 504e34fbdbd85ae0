import { createRequire } from "node:module";
import type { Pool, PoolConfig } from "pg";
import { WinnowError, throwIfAborted } from "../../core/errors.js";
import type { Candidate, Document, MetadataFilter, QueryInput, SearchOptions } from "../../core/types.js";
import { validateMetadataFilter } from "../pools/metadata-filter.js";
import type { FirstStageRetriever, RetrieverContext, RetrieverSpec } from "../registry.js";
import { quoteIdentifier, statsTables, type PostgresRetrieverSpec } from "./postgres-schema.js";
import { bm25Sql, tsquerySql, tsRankSql } from "./postgres-sql.js";

type PgModule = typeof import("pg");

/** A pg Pool for a URL; pg is required on first use so `import "winnow"` does not load it. */
export function openPgPool(connectionString: string, options: { max?: number; statementTimeoutMs?: number } = {}): Pool {
  const { Pool: PgPool } = createRequire(import.meta.url)("pg") as PgModule;
  const config: PoolConfig = { connectionString, max: options.max ?? 4, ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}) };
  const pool = new PgPool(config);
  // An idle client's error (server restart) is emitted on the pool; without a listener Node would crash.
  pool.on("error", () => undefined);
  return pool;
}

export function connectionOf(spec: { connection?: string; connectionEnv?: string }, what = "postgres retriever"): string {
  if (spec.connection !== undefined) return spec.connection;
  const value = process.env[spec.connectionEnv!];
  if (!value) throw new WinnowError("CONFIG_INVALID", `${what}: connectionEnv: environment variable ${spec.connectionEnv} is not set`, { details: { field: "connectionEnv" } });
  return value;
}

/** A pg error as a WinnowError: missing tables point at `winnow pg`, timeouts are TIMEOUT. */
export function pgError(err: unknown, what: string): WinnowError {
  if (err instanceof WinnowError) return err;
  const e = err as { code?: string; message?: string };
  if (e.code === "57014") return new WinnowError("TIMEOUT", `${what}: the query ran past timeoutMs (statement_timeout)`, { details: { field: "timeoutMs" }, cause: err });
  if (e.code === "42P01") return new WinnowError("NOT_FOUND", `${what}: ${e.message} (create it with \`winnow pg init\`, or the BM25 side tables with \`winnow pg bm25\`)`, { cause: err });
  if (e.code === "42703") return new WinnowError("CONFIG_INVALID", `${what}: ${e.message} (check idColumn, textColumns, titleColumn, metadataColumn)`, { details: { field: "textColumns" }, cause: err });
  if (e.code === "28P01" || e.code === "28000") return new WinnowError("UNAUTHORIZED", `${what}: ${e.message}`, { cause: err });
  if (e.code !== undefined && /^[0-9A-Z]{5}$/.test(e.code)) return new WinnowError("UPSTREAM_ERROR", `${what}: PostgreSQL error ${e.code}: ${e.message}`, { details: { sqlstate: e.code }, cause: err });
  return new WinnowError("UPSTREAM_ERROR", `${what}: cannot reach PostgreSQL: ${e.message ?? String(err)}`, { cause: err });
}

/** A MetadataFilter as SQL over a jsonb column, values as parameters from $first on. */
export function metadataWhere(column: string, filter: MetadataFilter, first: number): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const parts: string[] = [];
  const col = `d.${quoteIdentifier(column)}`;
  const param = (v: unknown) => {
    params.push(v);
    return `$${first + params.length - 1}`;
  };
  for (const [key, value] of Object.entries(filter)) {
    const field = `${col} -> ${param(key)}`;
    if (Array.isArray(value)) parts.push(`${field} IN (SELECT jsonb_array_elements(${param(JSON.stringify(value))}::jsonb))`);
    else if (value !== null && typeof value === "object") {
      for (const [op, bound] of Object.entries(value)) {
        const sqlOp = { gte: ">=", lte: "<=", gt: ">", lt: "<" }[op]!;
        // Numbers compare as numbers, strings (ISO dates) as text.
        if (typeof bound === "number") parts.push(`(CASE WHEN jsonb_typeof(${field}) = 'number' THEN (${field})::numeric END) ${sqlOp} ${param(bound)}::numeric`);
        else parts.push(`(${field} #>> '{}') ${sqlOp} ${param(bound)}::text`);
      }
    } else parts.push(`${field} = ${param(JSON.stringify(value))}::jsonb`);
  }
  return { sql: parts.map((p) => ` AND ${p}`).join(""), params };
}

interface Row {
  winnow_id: string;
  winnow_title?: string | null;
  winnow_metadata?: Record<string, unknown> | null;
  winnow_score: number;
  [text: `winnow_text_${number}`]: string | null;
}

/**
 * A table in PostgreSQL as a first stage: full-text search ranked by ts_rank_cd, or BM25
 * computed in SQL from the side tables `winnow pg bm25` keeps.
 */
export class PostgresRetriever implements FirstStageRetriever {
  readonly name = "postgres";
  private readonly pool: Pool;
  private statsChecked?: Promise<void>;

  constructor(private readonly spec: PostgresRetrieverSpec) {
    this.pool = openPgPool(connectionOf(spec), { max: spec.poolSize, statementTimeoutMs: spec.timeoutMs });
  }

  /** BM25 needs its side tables: say how to make them, once, before the first search. */
  private checkStats(): Promise<void> {
    this.statsChecked ??= (async () => {
      const s = statsTables(this.spec.table, this.spec.statsPrefix);
      try {
        const r = await this.pool.query(`SELECT n, language FROM ${s.stats}`);
        if (r.rows.length === 0) throw new WinnowError("NOT_FOUND", `postgres retriever: ${s.stats} is empty: run \`winnow pg bm25\``);
        if (r.rows[0].language !== this.spec.language) {
          throw new WinnowError("CONFIG_INVALID", `postgres retriever: language: the BM25 statistics were built with "${r.rows[0].language}", the spec says "${this.spec.language}" (rerun \`winnow pg bm25 --language ${this.spec.language}\`)`, { details: { field: "language" } });
        }
      } catch (err) {
        this.statsChecked = undefined;
        throw pgError(err, "postgres retriever");
      }
    })();
    return this.statsChecked;
  }

  async search(query: QueryInput, k: number, options: SearchOptions = {}): Promise<Candidate[]> {
    if (!Number.isInteger(k) || k < 1) throw new WinnowError("INVALID_INPUT", `postgres retriever: k must be a positive integer, got ${k}`, { details: { field: "k" } });
    throwIfAborted(options.signal);
    const text = typeof query === "string" ? query : query.text;
    let where = "";
    let extra: unknown[] = [];
    if (options.filter !== undefined) {
      if (!this.spec.metadataColumn) throw new WinnowError("INVALID_INPUT", "postgres retriever: filter needs metadataColumn (a jsonb column) in the spec", { details: { field: "metadataColumn" } });
      const m = metadataWhere(this.spec.metadataColumn, validateMetadataFilter(options.filter), this.spec.ranking === "bm25" ? 5 : 3);
      where = m.sql;
      extra = m.params;
    }
    let rows: Row[];
    try {
      if (this.spec.ranking === "bm25") {
        await this.checkStats();
        rows = (await this.pool.query<Row>(bm25Sql(this.spec, where), [text, k, this.spec.k1, this.spec.b, ...extra])).rows;
      } else {
        const tsquery = (await this.pool.query<{ query: string | null }>(tsquerySql(this.spec.language, this.spec.match), [text])).rows[0]?.query;
        // Only stopwords (or nothing) in the query: nothing to match.
        rows = tsquery ? (await this.pool.query<Row>(tsRankSql(this.spec, where), [tsquery, k, ...extra])).rows : [];
      }
    } catch (err) {
      throw pgError(err, "postgres retriever");
    }
    throwIfAborted(options.signal);
    return rows.map((row, i) => {
      const document: Document = { id: row.winnow_id, text: this.spec.textColumns.map((_, j) => row[`winnow_text_${j}`] ?? "").filter((s) => s !== "").join(" ") };
      if (row.winnow_title) document.title = row.winnow_title;
      if (row.winnow_metadata && typeof row.winnow_metadata === "object") document.metadata = row.winnow_metadata;
      const score = Number(row.winnow_score);
      return { document, score, rank: i + 1, source: "postgres", scores: { postgres: score } };
    });
  }

  describe(): Record<string, unknown> {
    return { type: "postgres", table: this.spec.table, ranking: this.spec.ranking, match: this.spec.match, language: this.spec.language, ...(this.spec.ranking === "bm25" ? { k1: this.spec.k1, b: this.spec.b } : {}) };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

export async function createPostgresRetriever(spec: RetrieverSpec, _context: RetrieverContext): Promise<FirstStageRetriever> {
  return new PostgresRetriever(spec as unknown as PostgresRetrieverSpec);
}
