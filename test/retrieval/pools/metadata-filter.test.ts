import { describe, expect, it } from "vitest";
import { matchesMetadataFilter, validateMetadataFilter } from "../../../src/retrieval/pools/metadata-filter.js";

describe("metadata filters", () => {
  const meta = { lang: "en", year: 2021, published: "2024-03-01", tags: ["ml", "ir"], open: true };

  it("matches equality, lists, list-valued fields, numeric and date ranges", () => {
    expect(matchesMetadataFilter(meta, { lang: "en" })).toBe(true);
    expect(matchesMetadataFilter(meta, { lang: "de" })).toBe(false);
    expect(matchesMetadataFilter(meta, { lang: ["de", "en"] })).toBe(true);
    expect(matchesMetadataFilter(meta, { tags: "ir" })).toBe(true);
    expect(matchesMetadataFilter(meta, { tags: ["cv", "nlp"] })).toBe(false);
    expect(matchesMetadataFilter(meta, { year: { gte: 2020, lt: 2022 } })).toBe(true);
    expect(matchesMetadataFilter(meta, { year: { gt: 2021 } })).toBe(false);
    expect(matchesMetadataFilter(meta, { published: { gte: "2024-01-01" } })).toBe(true);
    expect(matchesMetadataFilter(meta, { published: { lte: "2023-12-31" } })).toBe(false);
    expect(matchesMetadataFilter(meta, { open: true, lang: "en" })).toBe(true);
  });

  it("never matches a missing field", () => {
    expect(matchesMetadataFilter(meta, { source: "x" })).toBe(false);
    expect(matchesMetadataFilter(undefined, { source: "x" })).toBe(false);
    expect(matchesMetadataFilter(undefined, undefined)).toBe(true);
  });

  it("rejects malformed filters naming the field", () => {
    expect(() => validateMetadataFilter({ year: { gte: 1, above: 2 } })).toThrow(/filter\.year range accepts only gte, lte, gt, lt \(got "above"\)/);
    expect(() => validateMetadataFilter({ tags: [] })).toThrow(/filter\.tags/);
    expect(() => validateMetadataFilter({ published: { gte: "not a date" } })).toThrow(/filter\.published\.gte/);
    expect(() => validateMetadataFilter([1])).toThrow(/filter must be an object/);
  });
});
