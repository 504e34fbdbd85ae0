import { spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A throwaway PostgreSQL 15 on a free local port: data folder and unix socket in a temp dir, no fsync. */
export interface PostgresServer {
  /** postgres://winnow@127.0.0.1:PORT/postgres (trust auth on localhost only). */
  url: string;
  port: number;
  stop(): Promise<void>;
}

const BIN = "/usr/lib/postgresql/15/bin";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * PostgreSQL refuses to run as root; here and in CI tests run as root, so the server runs
 * as the `postgres` user the Debian package creates (owning its temp dir). Fails, never
 * skips, when the binaries are missing: `bash scripts/install-services.sh` installs them.
 */
function run(args: string[], asUser: string | undefined): { status: number | null; out: string } {
  const [cmd, ...rest] = asUser ? ["runuser", "-u", asUser, "--", ...args] : args;
  const r = spawnSync(cmd, rest, { encoding: "utf8" });
  return { status: r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

export async function startPostgresServer(attempt = 0): Promise<PostgresServer> {
  if (!existsSync(join(BIN, "postgres"))) {
    throw new Error(`PostgreSQL 15 is not installed (${BIN}/postgres): run \`bash scripts/install-services.sh\``);
  }
  const asUser = process.getuid?.() === 0 ? "postgres" : undefined;
  const dir = mkdtempSync(join(tmpdir(), "winnow-pg-"));
  if (asUser) {
    const ids = spawnSync("id", ["-u", asUser], { encoding: "utf8" });
    const gids = spawnSync("id", ["-g", asUser], { encoding: "utf8" });
    chownSync(dir, Number(ids.stdout.trim()), Number(gids.stdout.trim()));
  }
  const data = join(dir, "data");
  const init = run([`${BIN}/initdb`, "-D", data, "-A", "trust", "-U", "winnow", "-E", "UTF8", "--no-sync", "--locale=C"], asUser);
  if (init.status !== 0) throw new Error(`initdb failed: ${init.out}`);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  const start = run([`${BIN}/pg_ctl`, "-D", data, "-o", options, "-l", join(dir, "log"), "-w", "-t", "30", "start"], asUser);
  if (start.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    // Another test may have taken the free port between the probe and the bind.
    if (attempt < 3) return startPostgresServer(attempt + 1);
    throw new Error(`pg_ctl start failed: ${start.out}`);
  }
  return {
    url: `postgres://winnow@127.0.0.1:${port}/postgres`,
    port,
    stop: async () => {
      run([`${BIN}/pg_ctl`, "-D", data, "-m", "immediate", "-w", "stop"], asUser);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
