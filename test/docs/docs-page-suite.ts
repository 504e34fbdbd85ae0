/**
 * The vitest suite for one documentation page: one test per snippet, in page order (later
 * snippets use what earlier ones wrote). vitest spreads test files, not describes, over
 * its workers, so each page has a two-line file (docs-commands.<page>.test.ts) calling this.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PageRun } from "./docs-harness.js";
import { extractPage, normalizeCommand } from "./markdown-snippets.js";
import { planPage, sharedPresent, type Step } from "./docs-plan.js";
import { repoRoot } from "../support/shared-datasets.js";

function title(step: Step): string {
  const short = (s: string) => {
    const n = normalizeCommand(s);
    return n.length > 110 ? `${n.slice(0, 110)}…` : n;
  };
  switch (step.kind) {
    case "fixture":
      return `fixture ${step.fixture.path} (${step.fixture.why})`;
    case "stop":
      return `${step.of.snippet.page}:${step.of.snippet.line} stops on SIGTERM`;
    case "file":
      return `${step.snippet.page}:${step.snippet.line} ${step.snippet.fileName}`;
    case "typescript":
      return `${step.snippet.page}:${step.snippet.line} TypeScript: ${short(step.snippet.text.split("\n").find((l) => l.trim() && !l.startsWith("import")) ?? "")}`;
    default:
      return `${step.snippet.page}:${step.snippet.line} ${short(step.snippet.text)}`;
  }
}

/** Steps that read ../shared/datasets cannot run where the collections are absent; their title says so. */
function needsShared(step: Step): boolean {
  if (step.kind === "fixture") return step.fixture.needsShared === true || (step.fixture.command ?? "").includes("../shared/");
  return step.kind !== "stop" && step.snippet.text.includes("../shared/");
}

export function describeDocsPage(page: string): void {
  const snippets = extractPage(repoRoot, page);
  const { steps, problems } = planPage(page, snippets);
  const shared = sharedPresent();

  describe(`${page}: every command and snippet runs as written`, () => {
    let run: PageRun;
    beforeAll(async () => {
      run = await PageRun.start(page);
    });
    afterAll(async () => {
      await run?.close();
    });

    it("has no snippet that is neither run nor excluded, and no stale row in test/docs/docs-plan.ts", () => {
      expect(problems).toEqual([]);
    });

    for (const step of steps) {
      const skip = !shared && needsShared(step);
      it.skipIf(skip)(`${title(step)}${skip ? " (skipped: ../shared/datasets is absent)" : ""}`, async () => {
        await run.step(step);
      }, 300_000);
    }
  });
}
