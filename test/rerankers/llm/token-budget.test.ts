import { describe, expect, it } from "vitest";
import { getEncoding } from "js-tiktoken";
import { PromptBudget } from "../../../src/rerankers/llm/token-budget.js";

const enc = getEncoding("cl100k_base");

describe("PromptBudget", async () => {
  const budget = await PromptBudget.create(1000, 50);

  it("cuts by tokens: the kept text is exactly the first maxTokens tokens of the full text", () => {
    const long = "Coral reefs bleach when ocean temperatures rise; ".repeat(200);
    const t = budget.truncate(long, 50);
    expect(t.truncated).toBe(true);
    expect(enc.encode(t.text).length).toBe(50);
    expect(t.text).toBe(enc.decode(enc.encode(long).slice(0, 50)));
    expect(long.startsWith(t.text)).toBe(true);
  });

  it("leaves short texts alone and counts special-token strings as plain text", () => {
    expect(budget.truncate("short", 50)).toEqual({ text: "short", truncated: false });
    expect(budget.count("hello <|endoftext|>")).toBe(enc.encode("hello <|endoftext|>", [], []).length);
  });

  it("handles scripts with several tokens per character", () => {
    const cjk = "珊瑚礁白化与海水温度".repeat(50);
    const t = budget.truncate(cjk, 40);
    expect(t.truncated).toBe(true);
    expect(enc.encode(t.text, [], []).length).toBeLessThanOrEqual(41);
  });

  it("splits what the template leaves equally, and refuses when nothing is left", () => {
    const fit = budget.fitPassages(["a ".repeat(400), "b ".repeat(400), "c"], 700);
    expect(fit.truncated).toBe(2);
    const total = fit.passages.reduce((n, p) => n + budget.count(p), 0);
    expect(total).toBeLessThanOrEqual(300);
    expect(() => budget.fitPassages(["x"], 995)).toThrow(/maxPromptTokens is 1000/);
  });
});
