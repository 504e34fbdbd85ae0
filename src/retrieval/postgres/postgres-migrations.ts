import type { Pool, PoolClient } from "pg";
import type { Document } from "../../core/types.js";
import { quoteIdentifier, statsTables } from "./postgres-schema.js";
import { bm25MaintenanceStatements, bm25RefreshStatements, type TextTable } from "./postgres-sql.js";
import { pgError } from "./postgres-retriever.js";

/** The documents table `winnow pg init` creates and `winnow pg load` fills: BEIR's fields, a stored tsvector, a GIN index. */
export function documentsTable(table: string, language: string): TextTable & { metadataColumn: string } {
  return { table, idColumn: "id", textColumns: ["text"], titleColumn: "title", metadataColumn: "metadata", tsvectorColumn: "tsv", language };
}

async function inTransaction<T>(pool: Pool, what: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect().catch((err: unknown) => {
    throw pgError(err, what);
  });
  try {
    await client.query("BEGIN");
    const out = await work(client);
    await client.query("COMMIT");
    return out;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw pgError(err, what);
  } finally {
    client.release();
  }
}

/**
 * Creates (if absent) the documents table with its generated tsvector column and GIN
 * index, and records the migration; running it again changes nothing. An advisory lock
 * keeps two `init`s racing from both creating.
 */
export async function initDocumentsTable(pool: Pool, table: string, language: string): Promise<{ created: boolean }> {
  const t = quoteIdentifier(table);
  const index = quoteIdentifier(`${table.split(".").at(-1)}_tsv_idx`);
  return inTransaction(pool, "winnow pg init", async (c) => {
    await c.query("SELECT pg_advisory_xact_lock(hashtext('winnow pg init'))");
    const exists = (await c.query("SELECT to_regclass($1) IS NOT NULL AS present", [table])).rows[0].present as boolean;
    await c.query(`CREATE TABLE IF NOT EXISTS winnow_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${t} (
      id text PRIMARY KEY,
      title text,
      text text NOT NULL,
      metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
      tsv tsvector GENERATED ALWAYS AS (to_tsvector('${language}'::regconfig, coalesce(title, '') || ' ' || coalesce(text, ''))) STORED
    )`);
    await c.query(`CREATE INDEX IF NOT EXISTS ${index} ON ${t} USING gin (tsv)`);
    await c.query(`INSERT INTO winnow_migrations (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, [`documents:${table}:v1`]);
    return { created: !exists };
  });
}

/**
 * Upserts documents in batches: a row whose title, text and metadata are unchanged is not
 * rewritten, so loading the same dataset twice leaves the table as it was.
 */
export async function loadDocuments(pool: Pool, table: string, documents: AsyncIterable<Document>, onProgress?: (n: number) => void, batchSize = 500): Promise<{ read: number; written: number }> {
  const t = quoteIdentifier(table);
  const sql = `INSERT INTO ${t} AS d (id, title, text, metadata)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[])
    ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, text = EXCLUDED.text, metadata = EXCLUDED.metadata
    WHERE (d.title, d.text, d.metadata) IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.text, EXCLUDED.metadata)`;
  let read = 0;
  let written = 0;
  let batch: Document[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const rows = batch;
    batch = [];
    written += await inTransaction(pool, "winnow pg load", async (c) => {
      const r = await c.query(sql, [rows.map((d) => d.id), rows.map((d) => d.title ?? null), rows.map((d) => d.text), rows.map((d) => JSON.stringify(d.metadata ?? {}))]);
      return r.rowCount ?? 0;
    });
    onProgress?.(read);
  };
  for await (const doc of documents) {
    batch.push(doc);
    read++;
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return { read, written };
}

/** Rebuilds a table's BM25 side tables in one transaction (see bm25RefreshStatements); returns N and the average length. */
export async function refreshBm25Statistics(pool: Pool, table: TextTable): Promise<{ documents: number; avgdl: number; terms: number }> {
  const s = statsTables(table.table, table.statsPrefix);
  const out = await inTransaction(pool, "winnow pg bm25", async (c) => {
    await c.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`winnow pg bm25 ${table.table}`]);
    for (const statement of bm25RefreshStatements(table)) await c.query(statement);
    const stats = (await c.query(`SELECT n, avgdl, (SELECT count(*) FROM ${s.terms}) AS terms FROM ${s.stats}`)).rows[0];
    return { documents: Number(stats.n), avgdl: Number(stats.avgdl), terms: Number(stats.terms) };
  });
  for (const statement of bm25MaintenanceStatements(table)) await pool.query(statement).catch((err: unknown) => {
    throw pgError(err, "winnow pg bm25");
  });
  return out;
}

/** True when the table's BM25 side tables exist (so `pg load` keeps them current). */
export async function hasBm25Statistics(pool: Pool, table: string, prefix?: string): Promise<boolean> {
  const s = statsTables(table, prefix);
  const name = s.stats.replace(/"/g, "");
  const r = await pool.query("SELECT to_regclass($1) IS NOT NULL AS present", [name]).catch((err: unknown) => {
    throw pgError(err, "winnow pg");
  });
  return r.rows[0].present as boolean;
}
