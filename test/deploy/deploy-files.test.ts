import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JOBS_ENVIRONMENT } from "../../src/cli/commands/jobs.js";
import { SERVE_ENVIRONMENT } from "../../src/server/config.js";
import { startServer, type RunningServer } from "../../src/server/server.js";
import { LexicalBatchScorer, LexicalReranker } from "../server/lexical-scorer.js";
import { repoRoot } from "../support/shared-datasets.js";

/**
 * Docker and Kubernetes cannot run here: the files in deploy/ are parsed and checked
 * against the code they configure (routes, metric names, environment variables, ports).
 */
const deploy = join(repoRoot, "deploy");
const read = (p: string) => readFileSync(join(deploy, p), "utf8");

// Every WINNOW_* name a deploy file sets must be one the code reads.
const KNOWN_ENV = new Set([...Object.keys(SERVE_ENVIRONMENT), ...Object.keys(JOBS_ENVIRONMENT), "WINNOW_API_KEYS", "WINNOW_CACHE"]);

function winnowEnvNames(env: Record<string, unknown> | Array<{ name: string }>): string[] {
  const names = Array.isArray(env) ? env.map((e) => e.name) : Object.keys(env);
  return names.filter((n) => n.startsWith("WINNOW_"));
}

let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ port: 0, logLevel: "silent", models: [{ id: "reranker", reranker: new LexicalReranker(new LexicalBatchScorer(100_000, 0)) }] });
});
afterAll(async () => {
  await server?.stop();
});

describe("deploy/ files", () => {
  it("the environment variables the code reads are where it reads them", () => {
    const sources = ["src/server/api-keys.ts", "src/retrieval/dense/embedding-cache.ts"].map((p) => readFileSync(join(repoRoot, p), "utf8")).join("\n");
    expect(sources).toContain("WINNOW_API_KEYS");
    expect(sources).toContain("WINNOW_CACHE");
  });

  it("Dockerfile: multi-stage, runs as a non-root user, exposes the port it serves on, starts the CLI", () => {
    const text = read("Dockerfile");
    const stages = [...text.matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((m) => m[1]);
    expect(stages).toEqual(["build", "runtime", "baked"]);
    const runtime = text.slice(text.indexOf("AS runtime"));
    expect(/^USER\s+(\S+)/m.exec(runtime)?.[1]).toBe("node");
    const port = /WINNOW_PORT=(\d+)/.exec(runtime)?.[1];
    expect(/^EXPOSE\s+(\d+)/m.exec(runtime)?.[1]).toBe(port);
    for (const name of [...runtime.matchAll(/\b(WINNOW_[A-Z_]+)=/g)].map((m) => m[1])) expect(KNOWN_ENV, name).toContain(name);
    expect(text).toContain('ENTRYPOINT ["node", "bin/winnow.js"]');
    expect(existsSync(join(repoRoot, "bin/winnow.js"))).toBe(true);
    // The healthcheck calls a route the server has.
    expect(text).toMatch(/\/health'/);
  });

  it("compose.yaml: two replicas sharing Redis behind a load balancer, workers on the jobs Redis; probes hit real routes", async () => {
    const compose = parse(read("compose.yaml"));
    expect(Object.keys(compose.services).sort()).toEqual(["lb", "redis", "winnow", "worker"]);
    const winnow = compose.services.winnow;
    expect(winnow.deploy.replicas).toBeGreaterThanOrEqual(2);
    expect(winnow.command).toEqual(["serve"]);
    for (const name of winnowEnvNames(winnow.environment)) expect(KNOWN_ENV, name).toContain(name);
    expect(winnow.environment.WINNOW_SCORE_CACHE).toMatch(/^redis:\/\/redis:6379/);
    expect(winnow.expose).toEqual([winnow.environment.WINNOW_PORT]);
    const probe = /127\.0\.0\.1:(\d+)(\/\w+)/.exec(winnow.healthcheck.test.join(" "))!;
    expect(probe[1]).toBe(winnow.environment.WINNOW_PORT);
    expect((await fetch(`${server.url}${probe[2]}`)).status).toBe(200);
    // Workers and servers use different Redis databases (a cache may evict; a queue must not lose jobs).
    expect(compose.services.worker.command[0]).toBe("worker");
    expect(compose.services.worker.environment.WINNOW_JOBS_REDIS).toMatch(/^redis:\/\/redis:6379\/1$/);
    for (const name of winnowEnvNames(compose.services.worker.environment)) expect(KNOWN_ENV, name).toContain(name);
    // The load balancer forwards to the replicas' port and moves on from one that is draining.
    expect(compose.services.lb.ports).toEqual(["8080:8080"]);
    const nginx = read("nginx.conf");
    expect(/server winnow:(\d+)/.exec(nginx)?.[1]).toBe(winnow.environment.WINNOW_PORT);
    expect(nginx).toMatch(/proxy_next_upstream error timeout http_502 http_503;/);
  });

  it("Kubernetes: probes on real routes and the named port, drain fits the grace period, the HPA scales on a metric the server exports", async () => {
    const docs = parseAllDocuments(read("kubernetes/winnow.yaml")).map((d) => d.toJS());
    const byKind = Object.fromEntries(docs.map((d) => [d.kind, d]));
    expect(Object.keys(byKind).sort()).toEqual(["Deployment", "HorizontalPodAutoscaler", "Service"]);
    const pod = byKind.Deployment.spec.template.spec;
    const container = pod.containers[0];
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    const env = Object.fromEntries(container.env.map((e: { name: string; value?: string }) => [e.name, e.value]));
    for (const name of winnowEnvNames(container.env)) expect(KNOWN_ENV, name).toContain(name);
    expect(String(container.ports[0].containerPort)).toBe(env.WINNOW_PORT);
    for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
      expect(probe.httpGet.port).toBe(container.ports[0].name);
      expect((await fetch(`${server.url}${probe.httpGet.path}`)).status).toBe(200);
    }
    expect(container.readinessProbe.httpGet.path).toBe("/ready");
    expect(container.livenessProbe.httpGet.path).toBe("/health");
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(Number(env.WINNOW_DRAIN_DELAY) + Number(env.WINNOW_SHUTDOWN_TIMEOUT));
    expect(byKind.Service.spec.ports[0].targetPort).toBe(container.ports[0].name);
    expect(byKind.Service.spec.selector).toEqual(byKind.Deployment.spec.selector.matchLabels);
    const hpa = byKind.HorizontalPodAutoscaler.spec;
    expect(hpa.scaleTargetRef).toMatchObject({ kind: "Deployment", name: byKind.Deployment.metadata.name });
    const metricName = hpa.metrics[0].pods.metric.name;
    const exported = await (await fetch(`${server.url}/metrics`)).text();
    expect(exported).toMatch(new RegExp(`^# TYPE ${metricName} gauge$`, "m"));
    expect(hpa.minReplicas).toBeGreaterThanOrEqual(2);

    const worker = parse(read("kubernetes/worker.yaml"));
    const wc = worker.spec.template.spec.containers[0];
    expect(wc.args[0]).toBe("worker");
    for (const name of winnowEnvNames(wc.env)) expect(KNOWN_ENV, name).toContain(name);
    const redis = parseAllDocuments(read("kubernetes/redis.yaml")).map((d) => d.toJS());
    const redisService = redis.find((d) => d.kind === "Service");
    expect(env.WINNOW_SCORE_CACHE).toBe(`redis://${redisService.metadata.name}:${redisService.spec.ports[0].port}/0`);
  });
});
