import type { WinnowError } from "../../src/core/errors.js";

/** The error a promise rejects with; fails the test if it resolves. */
export async function caught(p: Promise<unknown>): Promise<WinnowError> {
  try {
    await p;
  } catch (e) {
    return e as WinnowError;
  }
  throw new Error("expected a rejection");
}
