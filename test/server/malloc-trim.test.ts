import { describe, expect, it } from "vitest";
import { loadMallocTrim, startMallocTrim } from "../../src/server/malloc-trim.js";
import { resolveServerConfig } from "../../src/server/config.js";

describe("malloc_trim", () => {
  it.runIf(process.platform === "linux")("is callable through koffi on glibc Linux and trims on its interval", async () => {
    const trim = await loadMallocTrim();
    expect(trim).toBeTypeOf("function");
    // glibc returns 1 when memory was released, 0 when there was none to release.
    expect([0, 1]).toContain(trim!(0));
    const trimmer = await startMallocTrim(10);
    expect(trimmer).toBeDefined();
    await new Promise((r) => setTimeout(r, 80));
    trimmer!.stop();
    const done = trimmer!.trims;
    expect(done).toBeGreaterThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 40));
    expect(trimmer!.trims).toBe(done);
  });

  it("is off with an interval of 0, and a negative interval is a config error naming the field", async () => {
    expect(await startMallocTrim(0)).toBeUndefined();
    expect(resolveServerConfig({ models: [{ id: "m", reranker: { type: "bm25" } }] }).mallocTrimIntervalMs).toBe(10_000);
    expect(() => resolveServerConfig({ models: [{ id: "m", reranker: { type: "bm25" } }], mallocTrimIntervalMs: -1 })).toThrow(/mallocTrimIntervalMs/);
  });
});
