import type { IncomingMessage, Server, ServerOptions, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { FastifyBaseLogger } from "fastify";

export interface ConnectionLimits {
  /** A request's headers must arrive within this of its first byte. */
  headersTimeoutMs: number;
  /** Its body must then arrive within this (Node counts both from the first byte: headers + body). */
  bodyTimeoutMs: number;
  /** Bytes of a refused body read and thrown away so the client can finish writing it and read the answer. */
  drainLimitBytes: number;
}

/** Fastify/Node options that enforce the read timeouts (Fastify sets none by default). */
export function readTimeoutOptions(limits: ConnectionLimits): { requestTimeout: number; http: ServerOptions } {
  const shortest = Math.min(limits.headersTimeoutMs, limits.bodyTimeoutMs);
  return {
    // Node's requestTimeout covers headers and body, from the request's first byte.
    requestTimeout: limits.headersTimeoutMs + limits.bodyTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      // Node checks the timeouts every 30 s by default: a 10 s limit would act at up to 40 s.
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(shortest / 2))),
    },
  };
}

/** What a 429's Retry-After asks for, in seconds. */
export const RETRY_AFTER_S = 1;

/** At shutdown, how long a request whose headers are still arriving may take to finish them. */
export const SHUTDOWN_HEADERS_GRACE_MS = 1_000;

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
}

/**
 * What the server does about connections rather than requests: slow clients get a 408
 * naming the limit and are closed; a body refused before it was read (413, or 429
 * before reading) is drained so the client can finish writing and read the answer
 * instead of being reset mid-write; at shutdown, a client still sending headers gets a
 * short grace, and past the deadline every connection left is closed.
 */
export class ConnectionGuard {
  private readonly sockets = new Set<Socket>();
  /** The latest request on each socket, with its response. */
  private readonly current = new WeakMap<Socket, Exchange>();
  /** Responses not yet finished: the requests in flight. */
  private readonly open = new Set<ServerResponse>();
  /** When each connection's latest 429 was (or will be) sent. */
  private readonly lastRefusal = new WeakMap<Socket, number>();

  private log: FastifyBaseLogger | undefined;
  private shuttingDown = false;

  constructor(private readonly limits: ConnectionLimits) {}

  attach(server: Server, log: FastifyBaseLogger): void {
    this.log = log;
    server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      this.current.set(req.socket, { req, res });
      this.open.add(res);
      res.once("close", () => this.open.delete(res));
    });
  }

  /** Requests whose response has not finished. */
  get inFlight(): number {
    return this.open.size;
  }

  /**
   * Fastify's clientErrorHandler: a 408 that says which limit was passed (headers or
   * body), never written over a response already sent for the request (an early 413
   * or 429 whose body was still being drained); other parse errors as Fastify does.
   */
  readonly clientErrorHandler = (err: NodeJS.ErrnoException, socket: Socket): void => {
    if (err.code === "ECONNRESET" || socket.destroyed) return;
    const exchange = this.current.get(socket);
    const answered = exchange !== undefined && !exchange.req.complete && exchange.res.headersSent;
    let status = 400;
    let body: Record<string, unknown> = { message: "malformed HTTP request", code: "INVALID_INPUT" };
    if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") {
      // A complete latest request (or none) means the next one's headers were still arriving.
      const inBody = exchange !== undefined && !exchange.req.complete;
      const [field, limit] = inBody ? ["limits.bodyTimeoutMs", this.limits.bodyTimeoutMs] : ["limits.headersTimeoutMs", this.limits.headersTimeoutMs];
      status = 408;
      body = {
        message: inBody
          ? `request body not received in time: a request must arrive within ${this.limits.headersTimeoutMs + limit} ms of its first byte (limits.headersTimeoutMs + ${field})`
          : `request headers not received within ${limit} ms (${field})`,
        code: "TIMEOUT",
        field,
        limit,
      };
      this.log?.info({ field, limit }, "slow client: connection closed");
    } else if (err.code === "HPE_HEADER_OVERFLOW") {
      status = 431;
      body = { message: "request headers too large", code: "INVALID_INPUT", field: "headers" };
    }
    if (!answered) writeError(socket, status, body);
    socket.destroy();
  };

  /**
   * Called as a response is sent before its request's body has fully arrived. Fastify
   * marks such responses `Connection: close`, and Node then closes the socket as soon
   * as the response is written: a client still writing its body gets a reset (EPIPE),
   * and often loses the response with it. Instead the rest of the body is read and
   * thrown away (up to drainLimitBytes, within the body timeout), the client reads the
   * answer, and the connection stays usable. Returns whether the connection is kept.
   */
  drainAfterEarlyResponse(req: IncomingMessage): boolean {
    if (req.complete) return false;
    const declared = Number(req.headers["content-length"]);
    const limit = this.limits.drainLimitBytes;
    if (Number.isFinite(declared) && declared > limit) return false;
    let drained = 0;
    const count = (chunk: Buffer) => {
      drained += chunk.length;
      if (drained > limit) {
        req.off("data", count);
        req.socket.destroy();
      }
    };
    req.on("data", count);
    req.resume();
    return true;
  }

  /**
   * Shutdown starts. Node closes idle connections, but it also stops enforcing its read
   * timeouts once the server closes, so a client still sending headers would hold the
   * close until the deadline: after SHUTDOWN_HEADERS_GRACE_MS, connections that carry no
   * accepted request get a 408 and are closed. Not at once: a request already sent may
   * still sit unread in the socket's buffer.
   */
  beginShutdown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    const timer = setTimeout(() => {
      for (const socket of this.sockets) {
        const exchange = this.current.get(socket);
        if (exchange && this.open.has(exchange.res)) continue;
        const limit = SHUTDOWN_HEADERS_GRACE_MS;
        writeError(socket, 408, { message: `the server is shutting down: request headers not received within ${limit} ms`, code: "UNAVAILABLE", limit });
        socket.destroy();
      }
    }, SHUTDOWN_HEADERS_GRACE_MS);
    timer.unref();
  }

  /**
   * How long to hold a 429 on this connection: none for its first, or for one that came
   * back after the Retry-After; otherwise until a Retry-After has passed since the last.
   * A client that ignores Retry-After and re-sends at once (autocannon, a retry loop)
   * thus gets one answer a second per connection instead of thousands, whose parsing
   * and refusing would take CPU time from the model (a timer costs nothing).
   */
  refusalDelay(socket: Socket, now = performance.now()): number {
    const last = this.lastRefusal.get(socket);
    const at = last === undefined ? now : Math.max(now, last + RETRY_AFTER_S * 1000);
    this.lastRefusal.set(socket, at);
    return at - now;
  }

  /** A connection that got an answer other than 429 starts afresh. */
  admitted(socket: Socket): void {
    this.lastRefusal.delete(socket);
  }

  /** Resolves once no response is in flight, or after `ms`. */
  async settle(ms: number): Promise<void> {
    const until = performance.now() + ms;
    while (this.open.size > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
  }

  /** Past the shutdown deadline: end every connection left (clients still sending, responses still writing). */
  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }
}

const REASONS: Record<number, string> = { 400: "Bad Request", 408: "Request Timeout", 431: "Request Header Fields Too Large" };

/** A JSON error written straight to a socket that has no response under way. */
function writeError(socket: Socket, status: number, body: Record<string, unknown>): void {
  if (!socket.writable) return;
  const text = JSON.stringify(body);
  socket.write(
    `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}
