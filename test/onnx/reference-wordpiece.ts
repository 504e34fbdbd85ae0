/**
 * An independent bert-base-uncased tokenizer, transcribed from the algorithm of
 * Hugging Face's Python BertTokenizer (BasicTokenizer + WordpieceTokenizer), used
 * only to cross-check @huggingface/tokenizers on generated tokenizer.json files.
 */
function isControl(ch: string): boolean {
  if (ch === "\t" || ch === "\n" || ch === "\r") return false;
  return /\p{Cc}|\p{Cf}/u.test(ch);
}
function isWhitespace(ch: string): boolean {
  return ch === " " || ch === "\t" || ch === "\n" || ch === "\r" || /\p{Zs}/u.test(ch);
}
function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return /\p{P}/u.test(ch);
}
function isChinese(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) || (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b820 && cp <= 0x2ceaf) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

export function basicTokenize(text: string): string[] {
  let cleaned = "";
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0 || cp === 0xfffd || isControl(ch)) continue;
    cleaned += isWhitespace(ch) ? " " : ch;
  }
  let spaced = "";
  for (const ch of cleaned) spaced += isChinese(ch.codePointAt(0)!) ? ` ${ch} ` : ch;
  const out: string[] = [];
  for (const token of spaced.trim().split(/ +/).filter(Boolean)) {
    const stripped = token.toLowerCase().normalize("NFD").replace(/\p{Mn}/gu, "");
    let current = "";
    for (const ch of stripped) {
      if (isPunctuation(ch)) {
        if (current) out.push(current);
        out.push(ch);
        current = "";
      } else current += ch;
    }
    if (current) out.push(current);
  }
  return out;
}

export function wordpiece(word: string, vocab: Set<string>, maxChars = 100): string[] {
  const chars = [...word];
  if (chars.length > maxChars) return ["[UNK]"];
  const pieces: string[] = [];
  let start = 0;
  while (start < chars.length) {
    let end = chars.length;
    let found: string | undefined;
    while (start < end) {
      const sub = (start > 0 ? "##" : "") + chars.slice(start, end).join("");
      if (vocab.has(sub)) {
        found = sub;
        break;
      }
      end--;
    }
    if (found === undefined) return ["[UNK]"];
    pieces.push(found);
    start = end;
  }
  return pieces;
}

export function referenceBertTokenize(text: string, vocab: Set<string>): string[] {
  return basicTokenize(text).flatMap((w) => wordpiece(w, vocab));
}
