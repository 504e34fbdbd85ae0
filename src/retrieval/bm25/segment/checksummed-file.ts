import { closeSync, fsyncSync, openSync, readSync, writeSync } from "node:fs";
import { crc32 } from "node:zlib";
import { WinnowError } from "../../../core/errors.js";

/** What a segment file's manifest entry records: its size and the CRC-32 of every byte. */
export interface FileChecksum {
  bytes: number;
  crc32: number;
}

/**
 * Bytes written so far by every ChecksummedFileWriter of one build, checked against an
 * optional limit: how tests simulate a disk filling up without mounting one.
 */
export class WriteBudget {
  written = 0;
  constructor(readonly limitBytes = Infinity) {}
}

const CHUNK = 1 << 20;

/**
 * A file written front to back through a 1 MiB buffer, with its CRC-32 computed on the
 * way (no second read), fsynced on close. Synchronous: builds are batch work and this
 * keeps the hot loops free of awaits. ENOSPC and the injected budget both surface as a
 * one-line error naming the file.
 */
export class ChecksummedFileWriter {
  private readonly fd: number;
  private readonly buffer = Buffer.allocUnsafe(CHUNK);
  private fill = 0;
  private crc = 0;
  bytes = 0;

  constructor(
    readonly path: string,
    private readonly budget: WriteBudget = new WriteBudget(),
  ) {
    this.fd = openSync(path, "w", 0o644);
  }

  /** Appends `data`; `bytes` counts it at once (buffered or not), so callers can record offsets. */
  write(data: Uint8Array): void {
    this.bytes += data.length;
    if (data.length >= CHUNK) {
      this.flush();
      this.writeThrough(data);
      return;
    }
    if (this.fill + data.length > CHUNK) this.flush();
    this.buffer.set(data, this.fill);
    this.fill += data.length;
  }

  private flush(): void {
    if (this.fill === 0) return;
    this.writeThrough(this.buffer.subarray(0, this.fill));
    this.fill = 0;
  }

  private writeThrough(data: Uint8Array): void {
    if (this.budget.written + data.length > this.budget.limitBytes) {
      throw diskFull(this.path, `the write limit of ${this.budget.limitBytes} bytes`);
    }
    let off = 0;
    try {
      while (off < data.length) off += writeSync(this.fd, data, off, data.length - off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOSPC" || code === "EDQUOT" || code === "EFBIG") throw diskFull(this.path, `the disk (${code})`, err);
      throw err;
    }
    this.budget.written += data.length;
    this.crc = crc32(data, this.crc);
  }

  close(): FileChecksum {
    try {
      this.flush();
      fsyncSync(this.fd);
    } finally {
      closeSync(this.fd);
    }
    return { bytes: this.bytes, crc32: this.crc };
  }

  /** Closes without the checks of a successful write (after an error). */
  abandon(): void {
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
  }
}

function diskFull(path: string, what: string, cause?: unknown): WinnowError {
  return new WinnowError("INVALID_INPUT", `writing ${path} ran out of space: it would exceed ${what}; the previous index is intact`, {
    details: { path, limit: what },
    cause,
  });
}

/** CRC-32 of a whole file, read in 1 MiB chunks (verification, not the read path). */
export function crc32OfFile(path: string): FileChecksum {
  const fd = openSync(path, "r");
  const buf = Buffer.allocUnsafe(CHUNK);
  let crc = 0;
  let bytes = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, bytes);
      if (n === 0) break;
      crc = crc32(buf.subarray(0, n), crc);
      bytes += n;
    }
  } finally {
    closeSync(fd);
  }
  return { bytes, crc32: crc };
}
