import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import { WinnowError } from "../core/errors.js";
import { bearerToken, collectApiKeys } from "./api-keys.js";
import { ConnectionGuard, readTimeoutOptions, RETRY_AFTER_S } from "./connection-guard.js";
import { charsetOf, decodeCharset, decodeContentEncoding } from "./body-decoding.js";
import { resolveServerConfig, type ServerConfigInput } from "./config.js";
import { errorBody, toHttpError, type ErrorStyle } from "./http-errors.js";
import { ServerMetrics } from "./metrics.js";
import { ServedModelSet } from "./model-set.js";
import { cohereRoutes } from "./routes/cohere.js";
import { operationsRoutes } from "./routes/operations.js";
import { searchRoutes } from "./routes/search.js";
import { SharedScoreCache } from "./shared-score-cache.js";
import { ServedPipeline } from "./served-pipeline.js";
import { teiRoutes } from "./routes/tei.js";
import type { WinnowServerState } from "./server-state.js";
import { startMallocTrim, type MallocTrimmer } from "./malloc-trim.js";
import { RequestLog } from "./request-log.js";

export interface CreateServerOptions {
  /** Environment to read WINNOW_API_KEYS from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

function styleOf(request: FastifyRequest): ErrorStyle {
  return request.routeOptions?.config?.errorStyle ?? (request.url.startsWith("/rerank") ? "tei" : "cohere");
}

function isPublic(path: string, publicPaths: readonly string[]): boolean {
  return publicPaths.some((p) => path === p || path.startsWith(p.endsWith("/") ? p : `${p}/`));
}

const RERANK_PATHS = new Set(["/v1/rerank", "/v2/rerank", "/rerank"]);

/**
 * Builds the rerank server (not listening yet). Models, and the pipeline when the
 * config names one (served at POST /v1/search), start loading when the instance is
 * ready; until they are, /ready answers 503 and their routes answer 503 "still loading".
 * Routes are Fastify plugins over a shared `fastify.winnow` state.
 */
export function createServer(input: ServerConfigInput, options: CreateServerOptions = {}): FastifyInstance {
  const config = resolveServerConfig(input);
  const apiKeys = collectApiKeys(config.auth, options.env);
  let models: ServedModelSet | undefined;
  const metrics = new ServerMetrics(
    () => (models ? models.all.map((m) => ({ model: m.id, pairs: m.queuedPairs })) : []),
    () => connections.inFlight,
  );
  // Created before the models so every batched model's cache is the shared one.
  const sharedCache = config.cache ? new SharedScoreCache(config.cache, metrics.registry, { warn: (m) => process.stderr.write(`${m}\n`) }) : undefined;
  models = new ServedModelSet(config, metrics, sharedCache?.cache);
  const bodyLimit = config.limits.bodyLimitBytes;
  const timeouts = {
    headersTimeoutMs: config.limits.headersTimeoutMs,
    bodyTimeoutMs: config.limits.bodyTimeoutMs,
    // A refused body up to this size is read to its end so the client can read the refusal.
    drainLimitBytes: Math.max(64 * 2 ** 20, 4 * bodyLimit),
  };
  const connections = new ConnectionGuard(timeouts);

  const app = Fastify({
    logger: {
      level: config.logLevel,
      // Keys must never reach the logs, whatever a serializer or a debug line includes.
      redact: { paths: ["req.headers.authorization", 'req.headers["x-api-key"]', "headers.authorization"], censor: "[redacted]" },
    },
    bodyLimit,
    genReqId: () => randomUUID(),
    requestIdHeader: "x-request-id",
    return503OnClosing: true,
    // Fastify sets no read timeouts: a client sending a byte a second would hold its connection for ever.
    ...readTimeoutOptions(timeouts),
    clientErrorHandler: connections.clientErrorHandler,
    ajv: {
      // Wrong types are the caller's mistake to hear about, not to have silently coerced.
      customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, useDefaults: true },
    },
  });
  connections.attach(app.server, app.log);
  const shutdown = new AbortController();
  // Every rerank in flight listens to it: no listener count is a leak here.
  setMaxListeners(0, shutdown.signal);
  const pipeline = config.pipeline === undefined ? undefined : new ServedPipeline(config.pipeline);
  const requestLog = config.requestLog
    ? new RequestLog(config.requestLog, Math.random, (err, errors) => app.log.warn({ err, errors, file: config.requestLog!.file }, "request log: cannot write (requests are still answered)"))
    : undefined;
  const state: WinnowServerState = { config, models, metrics, apiKeys, shutdown, connections, pipeline, requestLog, sharedCache, draining: false };
  app.decorate("winnow", state);

  // JSON parsing after undoing content-encoding (gzip, deflate, br; the decoded size
  // bounded by the body limit too) and decoding the content-type's charset (UTF-8 checked,
  // since the default parser would turn invalid bytes into U+FFFD and rerank text nobody
  // sent; other charsets decoded or refused with 415). See body-decoding.ts.
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer", bodyLimit }, (request, body, done) => {
    decodeContentEncoding(body as Buffer, request.headers["content-encoding"], bodyLimit).then(
      (decoded) => {
        let text: string;
        try {
          text = decodeCharset(decoded, charsetOf(request.headers["content-type"]));
        } catch (err) {
          done(err as Error, undefined);
          return;
        }
        parseJson(request, text, done);
      },
      (err: Error) => done(err, undefined),
    );
  });

  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
    if (!apiKeys.enabled) return;
    const path = request.url.split("?", 1)[0];
    if (isPublic(path, config.auth.publicPaths)) return;
    const token = bearerToken(request.headers.authorization);
    if (token === undefined || !apiKeys.matches(token)) {
      reply.header("www-authenticate", 'Bearer realm="winnow"');
      throw new WinnowError("UNAUTHORIZED", token === undefined ? "authorization: send an API key as `Authorization: Bearer <key>`" : "authorization: invalid API key", {
        details: { field: "authorization" },
      });
    }
  });

  // A full queue refuses a rerank before its body is read: a client that ignores
  // Retry-After would otherwise make the server buffer and parse every body it then
  // refuses (measured: +14% RSS under a 32-connection flood of 100-document requests).
  // "Full" means a typical request would not fit (see DynamicBatcher.likelyFull).
  app.addHook("onRequest", async (request) => {
    if (request.method !== "POST" || !RERANK_PATHS.has(request.url.split("?", 1)[0])) return;
    const all = models.all;
    const limit = config.limits.maxQueuedPairs;
    if (all.length > 0 && all.every((m) => m.likelyFull)) {
      const queued = Math.min(...all.map((m) => m.queuedPairs));
      throw new WinnowError("QUEUE_FULL", `the queue is full (${queued} of ${limit} pairs waiting); retry later`, { details: { limit, queued } });
    }
  });

  app.addHook("onResponse", async (request, reply) => {
    metrics.requests.inc({ route: request.routeOptions?.url ?? "unmatched", status: String(reply.statusCode) });
  });

  app.setErrorHandler(async (err, request, reply) => {
    const e = toHttpError(err, bodyLimit);
    if (e.status >= 500) request.log.error({ err }, "request failed");
    else request.log.info({ code: e.code, status: e.status, msg: e.message }, "request rejected");
    if (e.code === "QUEUE_FULL" || e.code === "RATE_LIMITED") reply.header("retry-after", String(RETRY_AFTER_S));
    if (!reply.getHeader("x-total-time")) reply.header("x-total-time", reply.elapsedTime.toFixed(2));
    reply.code(e.status).type("application/json");
    return errorBody(styleOf(request), e);
  });

  app.setNotFoundHandler(async (request, reply) => {
    reply.code(404);
    return errorBody(styleOf(request), {
      status: 404,
      code: "NOT_FOUND",
      message: `${request.method} ${request.url.split("?", 1)[0]}: no such route`,
      details: {},
    });
  });

  app.register(swagger, {
    openapi: {
      info: { title: "Winnow rerank server", version: "0.1.0", description: "Cohere- and TEI-compatible reranking; a retrieve-and-rerank pipeline at /v1/search when configured." },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      security: apiKeys.enabled ? [{ bearer: [] }] : [],
    },
  });
  if (config.docs) app.register(swaggerUi, { routePrefix: "/docs" });
  app.register(operationsRoutes);
  app.register(cohereRoutes);
  app.register(teiRoutes);
  if (pipeline) app.register(searchRoutes, { pipeline });

  let trimmer: MallocTrimmer | undefined;
  app.addHook("onReady", async () => {
    trimmer = await startMallocTrim(config.mallocTrimIntervalMs, app.log);
    // Loading runs in the background so /health and /ready answer while weights load.
    models.loadAll().then(
      () => app.log.info({ models: models.all.map((m) => m.id) }, "models ready"),
      (err) => app.log.error({ err }, "a model failed to load"),
    );
    pipeline?.load().then(
      () => app.log.info({ pipeline: pipeline.file ?? "(instance)" }, "search pipeline ready"),
      (err) => app.log.error({ err }, "the search pipeline failed to load"),
    );
  });
  // Fastify stops accepting on close, but keep-alive connections that carried in-flight
  // requests would stay open after their response and hold close() until the deadline:
  // tell those clients the connection ends with this response.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
    // A client still sending headers (slowly) would otherwise hold the close until the deadline.
    connections.beginShutdown();
  });
  app.addHook("onSend", async (request, reply) => {
    if (closing) {
      reply.header("connection", "close");
      return;
    }
    const socket = request.raw.socket;
    if (reply.statusCode !== 429) connections.admitted(socket);
    else {
      // A connection back before its Retry-After waits for it (see ConnectionGuard.refusalDelay).
      const wait = connections.refusalDelay(socket);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    // Answered before its body arrived (413, 429 before reading): drain it rather than reset the client mid-write.
    if (connections.drainAfterEarlyResponse(request.raw)) reply.removeHeader("connection");
  });
  // Registered before Fastify's own close handler, so it runs after the HTTP server has
  // drained its in-flight requests.
  app.addHook("onClose", async () => {
    await sharedCache?.close();
    trimmer?.stop();
    await Promise.all([models.closeAll(), pipeline?.close(), requestLog?.close()]);
  });
  return app;
}

/** Exit status of a signalled server that reached shutdownTimeoutMs with requests still in flight (they were answered 503). */
export const SHUTDOWN_DEADLINE_EXIT_CODE = 3;

/** How long answers to cut-off requests get to be written before every connection left is closed. */
const FLUSH_AFTER_DEADLINE_MS = 1_000;

export interface ShutdownOutcome {
  /** Every accepted request finished before shutdownTimeoutMs. */
  drained: boolean;
  /** Requests still in flight at the deadline (rerank calls among them answered 503). */
  cutOff: number;
}

export interface RunningServer {
  app: FastifyInstance;
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  /**
   * Stops accepting, lets in-flight requests finish up to shutdownTimeoutMs, then answers
   * what is left with 503 and closes the remaining connections; releases the models.
   */
  stop(): Promise<ShutdownOutcome>;
}

export interface StartServerOptions extends CreateServerOptions {
  /**
   * Install SIGTERM/SIGINT handlers that stop gracefully, then exit 0, or
   * SHUTDOWN_DEADLINE_EXIT_CODE if the deadline cut requests off (the CLI does). A
   * second signal ends the wait at once.
   */
  handleSignals?: boolean;
}

/** Creates, listens, and waits for every model and the pipeline to load (failing if one cannot). */
export async function startServer(input: ServerConfigInput, options: StartServerOptions = {}): Promise<RunningServer> {
  const app = createServer(input, options);
  const { host, port, shutdownTimeoutMs } = app.winnow.config;
  await app.listen({ host, port });
  try {
    await Promise.all([app.winnow.models.loadAll(), app.winnow.pipeline?.load()]);
  } catch (err) {
    await app.close();
    throw err;
  }
  const address = app.server.address();
  const url = typeof address === "object" && address ? `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}` : String(address);

  let stopping: Promise<ShutdownOutcome> | undefined;
  let expire: (() => void) | undefined;
  const stop = () => {
    stopping ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<"deadline">((resolve) => {
        expire = () => resolve("deadline");
        timer = setTimeout(expire, shutdownTimeoutMs);
      });
      // Draining: /ready answers 503 while requests are still served, until the load balancer has noticed.
      app.winnow.draining = true;
      const { drainDelayMs } = app.winnow.config;
      if (drainDelayMs > 0) {
        app.log.info({ drainDelayMs }, "draining: /ready answers 503, still serving");
        await new Promise((r) => setTimeout(r, drainDelayMs));
      }
      const closed = app.close();
      const outcome = await Promise.race([closed.then(() => "closed" as const), deadline]);
      clearTimeout(timer);
      if (outcome === "closed") return { drained: true, cutOff: 0 };
      const { connections, shutdown } = app.winnow;
      const cutOff = connections.inFlight;
      app.log.warn({ shutdownTimeoutMs, inFlight: cutOff }, "shutdown deadline passed: answering requests still in flight with 503");
      // Rerank calls fail at once with this (their queued work is dropped); the forward pass
      // running in a model worker finishes, and the worker is closed after it (onClose):
      // exiting or terminating a worker while ONNX Runtime runs in it aborts the process.
      shutdown.abort(
        new WinnowError("UNAVAILABLE", `the server is shutting down and this request did not finish within shutdownTimeoutMs (${shutdownTimeoutMs} ms); retry`, {
          details: { field: "shutdownTimeoutMs", limit: shutdownTimeoutMs },
        }),
      );
      await connections.settle(FLUSH_AFTER_DEADLINE_MS);
      // Whatever is left (clients still sending a body, answers not yet read) holds close() otherwise.
      connections.destroyAll();
      await closed;
      return { drained: false, cutOff };
    })();
    return stopping;
  };

  if (options.handleSignals) {
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        app.log.warn({ signal }, "second signal: ending the shutdown wait now");
        expire?.();
        return;
      }
      app.log.info({ signal }, "shutting down: finishing in-flight requests");
      stop().then(
        (outcome) => process.exit(outcome.drained ? 0 : SHUTDOWN_DEADLINE_EXIT_CODE),
        (err: unknown) => {
          app.log.error({ err }, "shutdown failed");
          process.exit(1);
        },
      );
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  }
  return { app, url, stop };
}
