import { describe, expect, it } from "vitest";
import { isBlankText, toQuery } from "../../src/core/inputs.js";

describe("blank text", () => {
  it.each([["", true], ["   ", true], ["\u0000", true], ["\u0007\t", true], ["\u200b\ufeff\n", true], ["\u00a0\u3000", true], ["a", false], ["\u0000a", false], ["日本", false]])(
    "%j is blank: %s",
    (text, blank) => {
      expect(isBlankText(text)).toBe(blank);
    },
  );

  it("refuses a query of only control characters like an empty one", () => {
    expect(() => toQuery("\u0000")).toThrowError(/query must not be empty/);
    expect(() => toQuery({ text: "\u0007\t\r\n" })).toThrowError(expect.objectContaining({ code: "INVALID_INPUT", details: { field: "query" } }));
    expect(toQuery("\u0000q").text).toBe("\u0000q");
  });
});
