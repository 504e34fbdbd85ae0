import { quoteIdentifier, statsTables } from "./postgres-schema.js";

/** The columns and settings every statement over a documents table needs. */
export interface TextTable {
  table: string;
  idColumn: string;
  textColumns: readonly string[];
  titleColumn?: string;
  tsvectorColumn?: string;
  language: string;
  statsPrefix?: string;
}

/**
 * The document's tsvector: the stored column, else computed from title and text columns
 * in this exact form, so that an expression GIN index written the same way is used
 * (`coalesce(..) || ' ' || ..` is immutable where concat_ws is not).
 */
export function tsvectorExpression(t: TextTable, alias = "d"): string {
  if (t.tsvectorColumn) return `${alias}.${quoteIdentifier(t.tsvectorColumn)}`;
  const cols = [...(t.titleColumn ? [t.titleColumn] : []), ...t.textColumns].map((c) => `coalesce(${alias}.${quoteIdentifier(c)}, '')`);
  return `to_tsvector('${t.language}'::regconfig, ${cols.join(" || ' ' || ")})`;
}

/** The tsquery of $1: every query lexeme ORed (`any`), or websearch_to_tsquery's syntax. */
export function tsqueryExpression(language: string, match: "any" | "websearch"): string {
  if (match === "websearch") return `websearch_to_tsquery('${language}'::regconfig, $1)`;
  // Cast, not to_tsquery(): the lexemes are already normalized and must not be stemmed twice.
  return `(SELECT string_agg(quote_literal(lexeme), ' | ')::tsquery FROM unnest(to_tsvector('${language}'::regconfig, $1)))`;
}

/** The statement turning query text ($1) into the tsquery tsRankSql takes. */
export function tsquerySql(language: string, match: "any" | "websearch"): string {
  return `SELECT (${tsqueryExpression(language, match)})::text AS query`;
}

/** Columns a search returns for the candidate: id, text columns, title, metadata. */
export function selectedColumns(t: TextTable & { metadataColumn?: string }, alias = "d"): string {
  const cols = [`${alias}.${quoteIdentifier(t.idColumn)}::text AS winnow_id`];
  t.textColumns.forEach((c, i) => cols.push(`${alias}.${quoteIdentifier(c)}::text AS winnow_text_${i}`));
  if (t.titleColumn) cols.push(`${alias}.${quoteIdentifier(t.titleColumn)}::text AS winnow_title`);
  if (t.metadataColumn) cols.push(`${alias}.${quoteIdentifier(t.metadataColumn)} AS winnow_metadata`);
  return cols.join(", ");
}

/** ts_rank_cd (cover density, PostgreSQL's own ranking) of the documents matching $1; ties by id in byte order. */
export function tsRankSql(t: TextTable & { metadataColumn?: string }, where: string): string {
  const tsv = tsvectorExpression(t);
  // $1 is the tsquery itself (tsquerySql's answer): a parameter, not a subquery, lets the planner use the GIN index.
  return `SELECT ${selectedColumns(t)}, ts_rank_cd(${tsv}, $1::tsquery)::float8 AS winnow_score
FROM ${quoteIdentifier(t.table)} d
WHERE ${tsv} @@ $1::tsquery${where}
ORDER BY winnow_score DESC, d.${quoteIdentifier(t.idColumn)}::text COLLATE "C"
LIMIT $2`;
}

/** Statements run after the refresh commits (VACUUM cannot run in a transaction): planner statistics, and the visibility map index-only scans need. */
export function bm25MaintenanceStatements(t: TextTable): string[] {
  const s = statsTables(t.table, t.statsPrefix);
  return [`VACUUM (ANALYZE) ${s.postings}`, `VACUUM (ANALYZE) ${s.terms}`, `ANALYZE ${quoteIdentifier(t.table)}`];
}

/**
 * BM25 as Lucene scores it, in SQL over the side tables: for each query lexeme (counted
 * as often as the query repeats it), idf = ln(1 + (N - df + 0.5) / (df + 0.5)) times
 * tf / (tf + k1 (1 - b + b dl / avgdl)); $1 query text, $2 k, $3 k1, $4 b.
 */
export function bm25Sql(t: TextTable & { metadataColumn?: string }, where: string): string {
  const s = statsTables(t.table, t.statsPrefix);
  return `WITH q AS (
  SELECT lexeme AS term, coalesce(array_length(positions, 1), 1) AS qtf FROM unnest(to_tsvector('${t.language}'::regconfig, $1))
), st AS (SELECT n::float8 AS n, avgdl FROM ${s.stats}),
scored AS (
  SELECT p.doc_id, sum(q.qtf * ln(1 + (st.n - tm.df + 0.5) / (tm.df + 0.5)) * p.tf / (p.tf + $3::float8 * (1 - $4::float8 + $4::float8 * p.len / st.avgdl))) AS score
  FROM q JOIN ${s.terms} tm ON tm.term = q.term JOIN ${s.postings} p ON p.term = q.term CROSS JOIN st
  GROUP BY p.doc_id
)
SELECT ${selectedColumns(t)}, scored.score::float8 AS winnow_score
FROM scored JOIN ${quoteIdentifier(t.table)} d ON d.${quoteIdentifier(t.idColumn)}::text = scored.doc_id
WHERE true${where}
ORDER BY winnow_score DESC, d.${quoteIdentifier(t.idColumn)}::text COLLATE "C"
LIMIT $2`;
}

/**
 * The statements that (re)build the BM25 side tables from the table: postings (lexeme,
 * document, tf) from each document's tsvector, document lengths, document frequencies and
 * the collection's N and average length. Run in one transaction, so searches see the old
 * statistics or the new, never a mix; DELETE rather than TRUNCATE keeps searches running.
 */
export function bm25RefreshStatements(t: TextTable): string[] {
  const s = statsTables(t.table, t.statsPrefix);
  const tsv = tsvectorExpression(t);
  const id = `d.${quoteIdentifier(t.idColumn)}::text`;
  return [
    // The document's length rides in each posting, and the key INCLUDEs tf and len: a query reads one index range per term.
    `CREATE TABLE IF NOT EXISTS ${s.postings} (term text NOT NULL, doc_id text NOT NULL, tf integer NOT NULL, len integer NOT NULL, PRIMARY KEY (term, doc_id) INCLUDE (tf, len))`,
    `CREATE TABLE IF NOT EXISTS ${s.docs} (doc_id text PRIMARY KEY, len integer NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${s.terms} (term text PRIMARY KEY, df integer NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${s.stats} (singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton), n bigint NOT NULL, avgdl float8 NOT NULL, language text NOT NULL, refreshed_at timestamptz NOT NULL)`,
    `DELETE FROM ${s.postings}`,
    `DELETE FROM ${s.docs}`,
    `DELETE FROM ${s.terms}`,
    `INSERT INTO ${s.docs} (doc_id, len) SELECT ${id}, coalesce((SELECT sum(coalesce(array_length(t.positions, 1), 1)) FROM unnest(${tsv}) t), 0) FROM ${quoteIdentifier(t.table)} d`,
    `INSERT INTO ${s.postings} (term, doc_id, tf, len) SELECT t.lexeme, ${id}, coalesce(array_length(t.positions, 1), 1), dl.len FROM ${quoteIdentifier(t.table)} d JOIN ${s.docs} dl ON dl.doc_id = ${id}, unnest(${tsv}) t`,
    `INSERT INTO ${s.terms} (term, df) SELECT term, count(*) FROM ${s.postings} GROUP BY term`,
    `INSERT INTO ${s.stats} (singleton, n, avgdl, language, refreshed_at) SELECT true, count(*), coalesce(nullif(avg(len), 0), 1), '${t.language}', now() FROM ${s.docs}
     ON CONFLICT (singleton) DO UPDATE SET n = EXCLUDED.n, avgdl = EXCLUDED.avgdl, language = EXCLUDED.language, refreshed_at = EXCLUDED.refreshed_at`,
  ];
}
