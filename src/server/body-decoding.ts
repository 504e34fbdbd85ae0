import { isUtf8 } from "node:buffer";
import { promisify } from "node:util";
import { brotliDecompress, gunzip, inflate, inflateRaw, type ZlibOptions } from "node:zlib";
import { WinnowError } from "../core/errors.js";

type Decompress = (buf: Buffer, options: ZlibOptions) => Promise<Buffer>;

const gunzipAsync = promisify(gunzip) as Decompress;
const inflateAsync = promisify(inflate) as Decompress;
const inflateRawAsync = promisify(inflateRaw) as Decompress;
const brotliAsync = promisify(brotliDecompress) as Decompress;

// RFC 9110's "deflate" is zlib-wrapped, but some clients send a raw deflate stream:
// a zlib stream starts with CM = 8 and a header that is a multiple of 31.
const isZlibHeader = (b: Buffer) => b.length >= 2 && (b[0] & 0x0f) === 8 && ((b[0] << 8) | b[1]) % 31 === 0;

const DECODERS: Record<string, Decompress> = {
  gzip: gunzipAsync,
  "x-gzip": gunzipAsync,
  deflate: (b, o) => (isZlibHeader(b) ? inflateAsync(b, o) : inflateRawAsync(b, o)),
  br: brotliAsync,
};

const fail = (status: number, field: string, message: string, limit?: number) =>
  new WinnowError(status === 413 ? "PAYLOAD_TOO_LARGE" : "INVALID_INPUT", message, {
    details: { field, httpStatus: status, ...(limit === undefined ? {} : { limit }) },
  });

/**
 * Undoes the request's `content-encoding` (gzip, deflate, br; several are undone last
 * first). The decoded size is bounded by `limit` as it is produced (zlib's
 * maxOutputLength), so a small compressed body that inflates to gigabytes answers 413
 * without the server ever holding more than the limit.
 */
export async function decodeContentEncoding(body: Buffer, header: string | undefined, limit: number): Promise<Buffer> {
  const codings = (header ?? "")
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
  for (const c of codings) {
    if (!DECODERS[c]) throw fail(415, "content-encoding", `content-encoding: "${c}" is not supported (send gzip, deflate, br, or an uncompressed body)`);
  }
  let out = body;
  for (const c of codings.reverse()) {
    try {
      out = await DECODERS[c](out, { maxOutputLength: limit });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
        throw fail(413, "body", `body: decoded (content-encoding: ${c}) body exceeds ${limit} bytes (limits.bodyLimitBytes)`, limit);
      }
      throw fail(400, "body", `body: not valid ${c} data (content-encoding: ${c}): ${(err as Error).message}`);
    }
  }
  return out;
}

/** The `charset` parameter of a content-type, lower-cased; undefined when absent. */
export function charsetOf(contentType: string | undefined): string | undefined {
  const m = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType ?? "");
  return m ? (m[1] ?? m[2]).toLowerCase() : undefined;
}

const LATIN1 = new Set(["iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1"]);
const ASCII = new Set(["us-ascii", "ascii"]);

function utf16(body: Buffer, bigEndian: boolean, label: string): string {
  if (body.length % 2 !== 0) throw fail(400, "body", `body: not valid ${label} (an odd number of bytes)`);
  const le = bigEndian ? Buffer.from(body).swap16() : body;
  try {
    return new TextDecoder("utf-16le", { fatal: true }).decode(le);
  } catch {
    throw fail(400, "body", `body: not valid ${label} (an unpaired surrogate)`);
  }
}

/**
 * The body as text, in the charset the content-type names: UTF-8 (the default, checked,
 * since decoding invalid bytes would turn them into U+FFFD and rerank text nobody sent),
 * US-ASCII, ISO-8859-1 (each byte its own code point, as the label says, not
 * windows-1252), or UTF-16 (LE, BE, or by its byte-order mark, big-endian without one
 * as RFC 2781 says). Any other charset answers 415 naming it: text decoded in the wrong
 * charset would be reranked as if it were what the client sent.
 */
export function decodeCharset(body: Buffer, charset: string | undefined): string {
  if (charset === undefined || charset === "utf-8" || charset === "utf8") {
    if (!isUtf8(body)) throw fail(400, "body", "body: not valid UTF-8");
    return body.toString("utf8");
  }
  if (ASCII.has(charset)) {
    const bad = body.findIndex((b) => b > 0x7f);
    if (bad >= 0) throw fail(400, "body", `body: byte 0x${body[bad].toString(16)} at offset ${bad} is not US-ASCII (charset=${charset})`);
    return body.toString("latin1");
  }
  if (LATIN1.has(charset)) return body.toString("latin1");
  if (charset === "utf-16le") return utf16(body, false, "UTF-16LE");
  if (charset === "utf-16be") return utf16(body, true, "UTF-16BE");
  if (charset === "utf-16") {
    const le = body.length >= 2 && body[0] === 0xff && body[1] === 0xfe;
    return utf16(body, !le, "UTF-16");
  }
  throw fail(415, "content-type", `content-type: charset "${charset}" is not supported (send utf-8, us-ascii, iso-8859-1 or utf-16)`);
}
