import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local HTTP server on 127.0.0.1:0 that plays a script: each request takes the
 * next scripted behaviour (a failure, a delay, a broken body…) and, once the script
 * runs out, gets the protocol's correct answer. Every request is recorded.
 */
export type Behaviour =
  | { kind: "ok" }
  | { kind: "status"; status: number; body?: string; headers?: Record<string, string> }
  | { kind: "delay"; ms: number }
  | { kind: "truncated" }
  | { kind: "raw"; status?: number; body: string };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: unknown;
  rawBody: string;
  at: number;
}

export interface JsonAnswer {
  status: number;
  body: unknown;
  /** Send this text verbatim instead of JSON-encoding `body`. */
  text?: string;
  headers?: Record<string, string>;
}

export interface HarnessServer {
  url: string;
  requests: RecordedRequest[];
  /** Behaviours still to play, consumed front first. */
  script: Behaviour[];
  close(): Promise<void>;
}

export async function startHarness(answer: (req: RecordedRequest) => JsonAnswer, script: Behaviour[] = []): Promise<HarnessServer> {
  const requests: RecordedRequest[] = [];
  const state = { script: [...script] };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const rawBody = Buffer.concat(chunks).toString("utf8");
      let body: unknown = undefined;
      try {
        body = rawBody ? JSON.parse(rawBody) : undefined;
      } catch {
        body = undefined;
      }
      const rec: RecordedRequest = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body, rawBody, at: Date.now() };
      requests.push(rec);
      const behaviour = state.script.shift() ?? { kind: "ok" };
      const send = (a: JsonAnswer) => {
        if (res.destroyed) return;
        const text = a.text ?? JSON.stringify(a.body);
        res.writeHead(a.status, { "content-type": "application/json", ...a.headers });
        res.end(text);
      };
      switch (behaviour.kind) {
        case "ok":
          return send(answer(rec));
        case "status":
          return send({ status: behaviour.status, body: undefined, text: behaviour.body ?? JSON.stringify({ message: `scripted ${behaviour.status}` }), headers: behaviour.headers });
        case "raw":
          return send({ status: behaviour.status ?? 200, body: undefined, text: behaviour.body });
        case "delay": {
          const t = setTimeout(() => send(answer(rec)), behaviour.ms);
          res.on("close", () => clearTimeout(t));
          return;
        }
        case "truncated": {
          // Promise more bytes than we send, then hang up mid-body.
          res.writeHead(200, { "content-type": "application/json", "content-length": "4096" });
          res.write('{"results": [{"index": 0, "relev');
          setTimeout(() => res.destroy(), 5);
          return;
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get script() {
      return state.script;
    },
    set script(s: Behaviour[]) {
      state.script = s;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Word overlap between query and text: the fake vendors' and fake LLM's notion of relevance. */
export function fakeRelevance(query: string, text: string): number {
  const words = (s: string) => s.toLowerCase().match(/[a-z0-9]+/g) ?? [];
  const q = new Set(words(query));
  if (q.size === 0) return 0;
  const t = new Set(words(text));
  let hits = 0;
  for (const w of q) if (t.has(w)) hits++;
  return hits / q.size;
}
