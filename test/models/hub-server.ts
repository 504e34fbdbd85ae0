/** Test support: a local stand-in for the Hugging Face hub serving a model folder in the hub's URL layout. */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

export interface FakeHub {
  endpoint: string;
  commit: string;
  requests: Array<{ method: string; url: string; authorization?: string }>;
  /** Files whose body the server corrupts (to test verification). */
  corrupt: Set<string>;
  /** When set, the repo is gated: requests without `Bearer <requiredToken>` get 401. */
  requiredToken?: string;
  close(): Promise<void>;
}

function listFiles(dir: string, prefix = ""): string[] {
  return readdirSync(dir).flatMap((name) => {
    const rel = prefix ? `${prefix}/${name}` : name;
    return statSync(join(dir, name)).isDirectory() ? listFiles(join(dir, name), rel) : [rel];
  });
}

/**
 * Serves `folder` as repo `repoId`: `/{repo}/resolve/{rev}/{file}` answers with
 * X-Repo-Commit and an ETag (git blob sha1 for small files; large ones, like the hub's
 * LFS files, send X-Linked-Etag = sha256 and redirect to a CDN on another origin).
 * 404 for unknown files or revisions.
 */
export async function startFakeHub(repoId: string, folder: string): Promise<FakeHub> {
  const commit = createHash("sha1").update(`${repoId}:${folder}`).digest("hex");
  const files = new Map(listFiles(folder).map((f) => [f, readFileSync(join(folder, f))]));
  const requests: FakeHub["requests"] = [];
  const corrupt = new Set<string>();
  const isLfs = (f: string) => f.endsWith(".onnx");
  const body = (f: string) => (corrupt.has(f) ? Buffer.concat([files.get(f)!.subarray(0, 100), Buffer.from("garbage")]) : files.get(f)!);

  const handler = (cdnOrigin: () => string) => (req: IncomingMessage, res: import("node:http").ServerResponse) => {
    requests.push({ method: req.method ?? "GET", url: req.url ?? "", authorization: req.headers.authorization });
    const url = new URL(req.url ?? "/", "http://x");
    const cdn = url.pathname.match(/^\/cdn\/(.+)$/);
    if (cdn) {
      const f = decodeURIComponent(cdn[1]);
      res.writeHead(200, { "content-length": body(f).length });
      res.end(req.method === "HEAD" ? undefined : body(f));
      return;
    }
    if (hub.requiredToken && req.headers.authorization !== `Bearer ${hub.requiredToken}`) {
      res.writeHead(401, { "x-error-code": "GatedRepo" });
      return void res.end();
    }
    const prefix = `/${repoId}/resolve/`;
    if (!url.pathname.startsWith(prefix)) return void res.writeHead(404).end();
    const rest = url.pathname.slice(prefix.length);
    const slash = rest.indexOf("/");
    const rev = decodeURIComponent(rest.slice(0, slash));
    const file = rest.slice(slash + 1).split("/").map(decodeURIComponent).join("/");
    if ((rev !== "main" && rev !== commit) || !files.has(file)) {
      res.writeHead(404, { "x-error-code": "EntryNotFound" });
      return void res.end();
    }
    const content = files.get(file)!;
    if (isLfs(file)) {
      const sha256 = createHash("sha256").update(content).digest("hex");
      res.writeHead(302, { "x-repo-commit": commit, "x-linked-etag": `"${sha256}"`, etag: `"${sha256}"`, location: `${cdnOrigin()}/cdn/${encodeURIComponent(file)}` });
      return void res.end();
    }
    const etag = createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
    res.writeHead(200, { "x-repo-commit": commit, etag: `"${etag}"`, "content-length": body(file).length });
    res.end(req.method === "HEAD" ? undefined : body(file));
  };

  const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
  // Two servers so the CDN redirect crosses origins, as the real hub's does.
  const cdnServer: Server = createServer();
  const hubServer: Server = createServer();
  const cdnPort = await listen(cdnServer);
  const hubPort = await listen(hubServer);
  cdnServer.on("request", handler(() => `http://127.0.0.1:${cdnPort}`));
  hubServer.on("request", handler(() => `http://127.0.0.1:${cdnPort}`));
  const hub: FakeHub = {
    endpoint: `http://127.0.0.1:${hubPort}`,
    commit,
    requests,
    corrupt,
    close: async () => {
      await Promise.all([hubServer, cdnServer].map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
  return hub;
}
