import type { Command } from "commander";
import { UsageError } from "../usage-error.js";

interface ConnectionFlags {
  connection?: string;
  table: string;
  language: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function connectionFlag(flags: ConnectionFlags): string {
  const url = flags.connection ?? process.env.WINNOW_PG_URL;
  if (!url) throw new UsageError("--connection: give a postgres:// URL (or set WINNOW_PG_URL)");
  if (!/^postgres(ql)?:\/\//.test(url)) throw new UsageError(`--connection: expected a postgres:// URL, got ${JSON.stringify(url.replace(/:[^:@/]*@/, ":***@"))}`);
  return url;
}

function identifierFlag(name: string, value: string, allowSchema = false): string {
  const parts = allowSchema ? value.split(".") : [value];
  if (parts.length > 2 || !parts.every((p) => IDENTIFIER.test(p))) throw new UsageError(`${name}: expected a SQL identifier (letters, digits, _), got ${JSON.stringify(value)}`);
  return value;
}

function withConnection(cmd: Command): Command {
  return cmd
    .option("--connection <url>", "postgres://user:password@host:5432/db (default: $WINNOW_PG_URL)")
    .option("--table <name>", "documents table", "winnow_docs")
    .option("--language <regconfig>", "text search configuration", "english");
}

async function pool(flags: ConnectionFlags) {
  const { openPgPool } = await import("../../retrieval/postgres/postgres-retriever.js");
  return openPgPool(connectionFlag(flags), { max: 2 });
}

/** `winnow pg init|load|bm25`: idempotent migrations for the `postgres` first stage. */
export function register(program: Command): void {
  const pg = program.command("pg").description("PostgreSQL first stage: create the documents table, load a dataset, keep BM25 statistics (each idempotent)");

  withConnection(pg.command("init"))
    .description("create the documents table (id, title, text, metadata jsonb, generated tsvector + GIN index) if absent")
    .option("--bm25", "also build the BM25 side tables (<table>_bm25_*)")
    .action(async (flags: ConnectionFlags & { bm25?: boolean }) => {
      identifierFlag("--table", flags.table, true);
      identifierFlag("--language", flags.language);
      const p = await pool(flags);
      try {
        const m = await import("../../retrieval/postgres/postgres-migrations.js");
        const { created } = await m.initDocumentsTable(p, flags.table, flags.language);
        console.log(`${flags.table}: ${created ? "created" : "already present"}`);
        if (flags.bm25) {
          const s = await m.refreshBm25Statistics(p, m.documentsTable(flags.table, flags.language));
          console.log(`${flags.table}: BM25 statistics over ${s.documents} documents (${s.terms} terms)`);
        }
      } finally {
        await p.end();
      }
    });

  withConnection(pg.command("load"))
    .description("upsert a BEIR folder's corpus.jsonl into the documents table (created if absent); unchanged rows are left alone")
    .requiredOption("--dataset <dir>", "BEIR folder with corpus.jsonl")
    .option("--bm25", "build or refresh the BM25 side tables afterwards (refreshed anyway when they exist)")
    .action(async (flags: ConnectionFlags & { dataset: string; bm25?: boolean }) => {
      identifierFlag("--table", flags.table, true);
      identifierFlag("--language", flags.language);
      const p = await pool(flags);
      try {
        const m = await import("../../retrieval/postgres/postgres-migrations.js");
        const { readCorpus } = await import("../../eval/readers/beir.js");
        await m.initDocumentsTable(p, flags.table, flags.language);
        const tty = process.stderr.isTTY === true;
        const { read, written } = await m.loadDocuments(p, flags.table, readCorpus(flags.dataset), tty ? (n) => process.stderr.write(`\rloaded ${n} documents`) : undefined);
        if (tty) process.stderr.write("\n");
        console.log(`${flags.table}: ${read} documents read, ${written} inserted or changed`);
        if (flags.bm25 || (await m.hasBm25Statistics(p, flags.table))) {
          const s = await m.refreshBm25Statistics(p, m.documentsTable(flags.table, flags.language));
          console.log(`${flags.table}: BM25 statistics over ${s.documents} documents (${s.terms} terms, average length ${s.avgdl.toFixed(1)})`);
        }
      } finally {
        await p.end();
      }
    });

  withConnection(pg.command("bm25"))
    .description("build or refresh the BM25 side tables of any table (postings, lengths, df, N) in one transaction")
    .option("--id-column <name>", "id column", "id")
    .option("--text-columns <list>", "comma-separated text columns", "text")
    .option("--title-column <name>", "title column (searched with the text)")
    .option("--tsvector-column <name>", "a stored tsvector column to read instead of computing one")
    .option("--stats-prefix <name>", "side tables' name prefix (default <table>_bm25)")
    .action(async (flags: ConnectionFlags & { idColumn: string; textColumns: string; titleColumn?: string; tsvectorColumn?: string; statsPrefix?: string }) => {
      const table = {
        table: identifierFlag("--table", flags.table, true),
        language: identifierFlag("--language", flags.language),
        idColumn: identifierFlag("--id-column", flags.idColumn),
        textColumns: flags.textColumns.split(",").map((c) => identifierFlag("--text-columns", c.trim())),
        titleColumn: flags.titleColumn === undefined ? undefined : identifierFlag("--title-column", flags.titleColumn),
        tsvectorColumn: flags.tsvectorColumn === undefined ? undefined : identifierFlag("--tsvector-column", flags.tsvectorColumn),
        statsPrefix: flags.statsPrefix === undefined ? undefined : identifierFlag("--stats-prefix", flags.statsPrefix),
      };
      const p = await pool(flags);
      try {
        const m = await import("../../retrieval/postgres/postgres-migrations.js");
        const s = await m.refreshBm25Statistics(p, table);
        console.log(`${flags.table}: BM25 statistics over ${s.documents} documents (${s.terms} terms, average length ${s.avgdl.toFixed(1)})`);
      } finally {
        await p.end();
      }
    });
}
