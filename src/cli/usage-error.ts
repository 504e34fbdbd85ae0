/** A mistake in how the CLI was called (bad flag value); printed as one line. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
