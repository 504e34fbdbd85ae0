import type { FastifyReply } from "fastify";
import { WinnowError } from "../core/errors.js";
import type { WinnowServerState } from "./server-state.js";

/** The AbortSignal one request's work listens to, and the listeners to remove when it ends. */
export interface RequestSignal {
  signal: AbortSignal;
  release(): void;
}

/**
 * One signal for everything that ends a request early: its deadline
 * (limits.requestTimeoutMs from when it arrived: 504), the client going away (499), or
 * the shutdown deadline (503). Work that listens stops the moment any of them fires.
 */
export function requestSignal(state: WinnowServerState, reply: FastifyReply): RequestSignal {
  const timeoutMs = state.config.limits.requestTimeoutMs;
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(
      new WinnowError("TIMEOUT", `request exceeded its ${timeoutMs} ms deadline (limits.requestTimeoutMs)`, {
        details: { field: "limits.requestTimeoutMs", limit: timeoutMs },
      }),
    );
  }, Math.max(0, timeoutMs - reply.elapsedTime));
  // The request stream closes once its body is read, so it says nothing about the client;
  // the response closing before it finished does: the client went away.
  const onClose = () => {
    if (!reply.raw.writableFinished) controller.abort(new WinnowError("ABORTED", "client closed the connection"));
  };
  reply.raw.on("close", onClose);
  const { shutdown } = state;
  const onShutdown = () => controller.abort(shutdown.signal.reason);
  if (shutdown.signal.aborted) onShutdown();
  else shutdown.signal.addEventListener("abort", onShutdown, { once: true });
  return {
    signal: controller.signal,
    release() {
      clearTimeout(timer);
      reply.raw.off("close", onClose);
      shutdown.signal.removeEventListener("abort", onShutdown);
    },
  };
}
