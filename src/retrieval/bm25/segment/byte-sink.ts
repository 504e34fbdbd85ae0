/**
 * A growable byte buffer with LEB128 varints: the encoder every segment file is written
 * with. Varints hold integers up to 2^53 (offsets into files past 4 GiB), so they are
 * built with arithmetic, not 32-bit shifts.
 */
export class ByteSink {
  bytes: Uint8Array;
  length = 0;

  constructor(capacity = 1024) {
    this.bytes = new Uint8Array(capacity);
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }

  byte(v: number): void {
    this.ensure(1);
    this.bytes[this.length++] = v;
  }

  varint(v: number): void {
    this.ensure(8);
    const b = this.bytes;
    let n = this.length;
    while (v >= 0x80) {
      b[n++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    b[n++] = v;
    this.length = n;
  }

  raw(data: Uint8Array): void {
    this.ensure(data.length);
    this.bytes.set(data, this.length);
    this.length += data.length;
  }

  /** A length-prefixed UTF-8 string. */
  string(s: string): void {
    const encoded = Buffer.from(s, "utf8");
    this.varint(encoded.length);
    this.raw(encoded);
  }

  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  reset(): void {
    this.length = 0;
  }
}

/** Reads what ByteSink wrote; `pos` is public so block decoders can jump over payloads. */
export class ByteSource {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start = 0,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  byte(): number {
    return this.bytes[this.pos++];
  }

  varint(): number {
    const b = this.bytes;
    let v = b[this.pos++];
    if (v < 0x80) return v;
    v &= 0x7f;
    let scale = 0x80;
    for (;;) {
      const c = b[this.pos++];
      if (c === undefined) throw new RangeError("varint runs past the end of its buffer");
      v += (c & 0x7f) * scale;
      if (c < 0x80) return v;
      scale *= 0x80;
    }
  }

  raw(n: number): Uint8Array {
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(): string {
    const n = this.varint();
    const start = this.pos;
    this.pos += n;
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + start, n).toString("utf8");
  }
}
