/**
 * Test support: an independent byte-level BPE tokenizer (GPT-2's algorithm, written from
 * its description, sharing no code with @huggingface/tokenizers): added tokens split
 * first, optional NFC, the pre-tokenizer regex, bytes mapped to printable characters,
 * then the lowest-ranked adjacent pair merged until none is left.
 */

function bytesToUnicode(): string[] {
  const keep = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out.push(keep(b) ? String.fromCharCode(b) : String.fromCharCode(256 + n++));
  return out;
}

/** GPT-2's pattern (ModernBERT's ByteLevel pre-tokenizer with use_regex). */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
/** Qwen2's pattern with its case-insensitive contractions spelled out (JS has no (?i:…) groups in Node 20). */
export const QWEN_PATTERN = /'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

export interface ReferenceBpeSpec {
  merges: string[];
  pattern: RegExp;
  added: string[];
  nfc: boolean;
}

export function referenceBpeTokenize(text: string, spec: ReferenceBpeSpec): string[] {
  const ranks = new Map(spec.merges.map((m, i) => [m, i]));
  const byteChars = bytesToUnicode();
  const encoder = new TextEncoder();
  const out: string[] = [];
  const bpe = (word: string[]): string[] => {
    let parts = word;
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = ranks.get(`${parts[i]} ${parts[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) return parts;
      const [a, b] = [parts[best], parts[best + 1]];
      const merged: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (i + 1 < parts.length && parts[i] === a && parts[i + 1] === b) {
          merged.push(a + b);
          i++;
        } else merged.push(parts[i]);
      }
      parts = merged;
    }
  };
  const plain = (segment: string) => {
    const s = spec.nfc ? segment.normalize("NFC") : segment;
    for (const m of s.matchAll(spec.pattern)) out.push(...bpe(Array.from(encoder.encode(m[0]), (b) => byteChars[b])));
  };
  let rest = text;
  while (rest.length > 0) {
    let at = -1;
    let tok = "";
    for (const a of spec.added) {
      const i = rest.indexOf(a);
      if (i >= 0 && (at < 0 || i < at || (i === at && a.length > tok.length))) {
        at = i;
        tok = a;
      }
    }
    if (at < 0) {
      plain(rest);
      break;
    }
    if (at > 0) plain(rest.slice(0, at));
    out.push(tok);
    rest = rest.slice(at + tok.length);
  }
  return out;
}
