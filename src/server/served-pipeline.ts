import { WinnowError } from "../core/errors.js";
import type { Pipeline } from "../pipeline/pipeline.js";

export type ServedPipelineState = "loading" | "ready" | "failed";

/**
 * The pipeline behind `POST /v1/search`: a config file loaded (and warmed up) when the
 * server starts, or a Pipeline built by the caller. Like a served model it loads in the
 * background, so /health answers meanwhile and /ready waits for it; the server closes it.
 */
export class ServedPipeline {
  state: ServedPipelineState = "loading";
  private pipeline: Pipeline | undefined;
  private loadError: unknown;
  private loading: Promise<void> | undefined;

  constructor(private readonly source: string | Pipeline) {}

  /** The config file it comes from, or undefined for a caller's Pipeline. */
  get file(): string | undefined {
    return typeof this.source === "string" ? this.source : undefined;
  }

  /** Loads once; rejects (and stays failed) when the config or an index cannot be read. */
  load(): Promise<void> {
    this.loading ??= (async () => {
      try {
        if (typeof this.source === "string") {
          const { loadPipeline } = await import("../pipeline/pipeline-config.js");
          this.pipeline = await loadPipeline(this.source);
        } else {
          this.pipeline = this.source;
        }
        this.state = "ready";
      } catch (err) {
        this.state = "failed";
        this.loadError = err;
        throw err;
      }
    })();
    return this.loading;
  }

  /** The loaded pipeline; 503 while it loads or after it failed, so clients retry or look at /ready. */
  get(): Pipeline {
    if (this.pipeline && this.state === "ready") return this.pipeline;
    const why =
      this.state === "failed"
        ? `the search pipeline is unavailable: ${(this.loadError as Error)?.message ?? "it failed to load"}`
        : "the search pipeline is still loading; retry when /ready answers 200";
    throw new WinnowError("UNAVAILABLE", why, { details: { field: "pipeline", state: this.state } });
  }

  async close(): Promise<void> {
    // A load still running would hand over a pipeline nobody closes: wait for it first.
    await this.loading?.catch(() => undefined);
    await this.pipeline?.close();
    this.pipeline = undefined;
  }
}
