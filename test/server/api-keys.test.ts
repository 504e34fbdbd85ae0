import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readApiKeyFile } from "../../src/server/api-keys.js";

const dir = mkdtempSync(join(tmpdir(), "winnow-keys-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("readApiKeyFile", () => {
  it("skips comments and blank lines and keeps the keys", () => {
    const file = join(dir, "keys.txt");
    writeFileSync(file, "\uFEFF# team keys\r\n\r\n  key-aaaaaaaa  \r\n# retired:\n\nkey-bbbbbbbb\n");
    expect(readApiKeyFile(file)).toEqual(["key-aaaaaaaa", "key-bbbbbbbb"]);
  });

  it("names the line of a short key as the file numbers it, comments and blank lines counted", () => {
    const file = join(dir, "short.txt");
    writeFileSync(file, "# comment\n\nkey-aaaaaaaa\n# another comment\n\nshort\n");
    expect(() => readApiKeyFile(file)).toThrow(expect.objectContaining({ code: "CONFIG_INVALID", message: `auth.keysFile: key on line 6 of ${file} is shorter than 8 characters`, details: expect.objectContaining({ line: 6 }) }));
  });
});
