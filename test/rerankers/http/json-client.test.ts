import { afterEach, describe, expect, it } from "vitest";
import { JsonHttpClient } from "../../../src/rerankers/http/json-client.js";
import { startHarness, type HarnessServer } from "../../support/fake-vendors/http-harness.js";
import { caught } from "../../support/caught.js";

const FAST = { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 5, retryAfterCapMs: 200 };

describe("JsonHttpClient", () => {
  let server: HarnessServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const echo = () => ({ status: 200, body: { ok: true } });

  it("honours Retry-After (seconds) on 429, capped by retryAfterCapMs", async () => {
    server = await startHarness(echo, [{ kind: "status", status: 429, headers: { "retry-after": "30" } }]);
    const client = new JsonHttpClient({ upstream: "fake", timeoutMs: 2000, retry: { ...FAST, retryAfterCapMs: 120 } });
    const delays: number[] = [];
    const t0 = Date.now();
    const res = await client.postJson(`${server.url}/x`, {}, { onRetry: (e) => delays.push(e.delayMs) });
    expect(res.body).toEqual({ ok: true });
    expect(res.attempts).toBe(2);
    expect(delays).toEqual([120]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
    expect(server.requests[1].at - server.requests[0].at).toBeGreaterThanOrEqual(110);
  });

  it("honours Retry-After given as an HTTP date", async () => {
    const at = new Date(Date.now() + 60_000).toUTCString();
    server = await startHarness(echo, [{ kind: "status", status: 503, headers: { "retry-after": at } }]);
    const client = new JsonHttpClient({ upstream: "fake", timeoutMs: 2000, retry: { ...FAST, retryAfterCapMs: 50 } });
    const delays: number[] = [];
    await client.postJson(`${server.url}/x`, {}, { onRetry: (e) => delays.push(e.delayMs) });
    expect(delays).toEqual([50]);
  });

  it("gives up after maxRetries with the last status and a body excerpt", async () => {
    server = await startHarness(echo, Array.from({ length: 5 }, () => ({ kind: "status" as const, status: 502, body: "bad gateway from upstream" })));
    const client = new JsonHttpClient({ upstream: "fake", timeoutMs: 2000, retry: FAST });
    const err = await caught(client.postJson(`${server.url}/x`, {}));
    expect(err.code).toBe("UPSTREAM_ERROR");
    expect(err.details.status).toBe(502);
    expect(err.details.attempts).toBe(3);
    expect(err.message).toContain("bad gateway from upstream");
    expect(server.requests).toHaveLength(3);
  });

  it("does not retry a 400", async () => {
    server = await startHarness(echo, [{ kind: "status", status: 400, body: '{"message":"invalid request: query"}' }]);
    const client = new JsonHttpClient({ upstream: "fake", timeoutMs: 2000, retry: FAST });
    const err = await caught(client.postJson(`${server.url}/x`, {}));
    expect(err.code).toBe("UPSTREAM_ERROR");
    expect(err.details.status).toBe(400);
    expect(server.requests).toHaveLength(1);
  });

  it("maps persistent 429 to RATE_LIMITED", async () => {
    server = await startHarness(echo, Array.from({ length: 3 }, () => ({ kind: "status" as const, status: 429, headers: { "retry-after": "0" } })));
    const client = new JsonHttpClient({ upstream: "fake", timeoutMs: 2000, retry: FAST });
    const err = await caught(client.postJson(`${server.url}/x`, {}));
    expect(err.code).toBe("RATE_LIMITED");
    expect(err.details.status).toBe(429);
  });

  it("times out a slow upstream per attempt and retries it", async () => {
    server = await startHarness(echo, [{ kind: "delay", ms: 2000 }]);
    const client = new JsonHttpClient({ upstream: "fake", timeoutMs: 80, retry: FAST });
    const res = await client.postJson(`${server.url}/x`, {});
    expect(res.attempts).toBe(2);
    server.script = [{ kind: "delay", ms: 2000 }, { kind: "delay", ms: 2000 }];
    const noRetry = new JsonHttpClient({ upstream: "fake", timeoutMs: 80, retry: { ...FAST, maxRetries: 1 } });
    const err = await caught(noRetry.postJson(`${server.url}/x`, {}));
    expect(err.code).toBe("TIMEOUT");
    expect(err.message).toMatch(/80 ms/);
  });

  it("retries a body cut off mid-stream, then succeeds", async () => {
    server = await startHarness(echo, [{ kind: "truncated" }]);
    const client = new JsonHttpClient({ upstream: "fake", timeoutMs: 2000, retry: FAST });
    const res = await client.postJson(`${server.url}/x`, {});
    expect(res.body).toEqual({ ok: true });
    expect(res.attempts).toBe(2);
  });

  it("reports a 200 with invalid JSON as UPSTREAM_ERROR with an excerpt", async () => {
    server = await startHarness(echo, [{ kind: "raw", body: "<html>gateway page</html>" }]);
    const client = new JsonHttpClient({ upstream: "fake", timeoutMs: 2000, retry: FAST });
    const err = await caught(client.postJson(`${server.url}/x`, {}));
    expect(err.code).toBe("UPSTREAM_ERROR");
    expect(err.message).toContain("<html>gateway page</html>");
  });

  it("reports a refused connection as UPSTREAM_ERROR after retries", async () => {
    const s = await startHarness(echo);
    const url = s.url;
    await s.close();
    const client = new JsonHttpClient({ upstream: "fake", timeoutMs: 2000, retry: FAST });
    const err = await caught(client.postJson(`${url}/x`, {}));
    expect(err.code).toBe("UPSTREAM_ERROR");
    expect(err.details.attempts).toBe(3);
  });

  it("stops at once with ABORTED when the caller aborts, even mid-backoff", async () => {
    server = await startHarness(echo, [{ kind: "delay", ms: 5000 }]);
    const client = new JsonHttpClient({ upstream: "fake", timeoutMs: 10_000, retry: FAST });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    const t0 = Date.now();
    const err = await caught(client.postJson(`${server.url}/x`, {}, { signal: ac.signal }));
    expect(err.code).toBe("ABORTED");
    expect(Date.now() - t0).toBeLessThan(1000);

    server.script = [{ kind: "status", status: 429, headers: { "retry-after": "10" } }];
    const slowRetry = new JsonHttpClient({ upstream: "fake", timeoutMs: 10_000, retry: { ...FAST, retryAfterCapMs: 10_000 } });
    const ac2 = new AbortController();
    setTimeout(() => ac2.abort(), 50);
    const t1 = Date.now();
    const err2 = await caught(slowRetry.postJson(`${server.url}/x`, {}, { signal: ac2.signal }));
    expect(err2.code).toBe("ABORTED");
    expect(Date.now() - t1).toBeLessThan(1000);
  });

  it("never puts the key in an error, even when the upstream echoes it", async () => {
    const key = "sk-live-SECRET-abcdef123456";
    server = await startHarness(echo, [{ kind: "status", status: 401, body: `{"message":"invalid api token ${key}"}` }]);
    const client = new JsonHttpClient({ upstream: "fake", timeoutMs: 2000, retry: FAST, headers: { authorization: `Bearer ${key}` }, secrets: [key] });
    const err = await caught(client.postJson(`${server.url}/x`, {}));
    expect(err.details.status).toBe(401);
    expect(err.message).not.toContain(key);
    expect(JSON.stringify(err.details)).not.toContain(key);
    expect(err.message).toContain("***");
    expect(server.requests[0].headers.authorization).toBe(`Bearer ${key}`);
  });
});
