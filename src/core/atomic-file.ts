import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Every file Winnow persists (indexes, vectors, models, runs, labels) goes through here:
 * produced under a temp name in the same folder, flushed, then renamed over the target,
 * so a crash leaves either the old file or the new one, never half of one.
 */
export async function replaceFileAtomically(path: string, produce: (tmpPath: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    await produce(tmp);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Writes text or bytes atomically (fsync before the rename). */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await writeStreamAtomic(path, async (write) => write(data));
}

/** Streams chunks into a file atomically: for outputs too large to build as one string. */
export async function writeStreamAtomic(
  path: string,
  produce: (write: (chunk: Uint8Array | string) => Promise<void>) => Promise<void>,
): Promise<void> {
  await replaceFileAtomically(path, async (tmp) => {
    const handle = await open(tmp, "w");
    try {
      await produce(async (chunk) => {
        if (typeof chunk === "string") await handle.write(chunk);
        else await handle.write(chunk);
      });
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}
