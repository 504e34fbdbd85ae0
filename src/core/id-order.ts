/**
 * Document ids are compared in Unicode code point order everywhere ranking ties are
 * broken: that is the UTF-8 byte order Lucene uses for ties and trec_eval (strcmp) uses
 * when it sorts runs, so Winnow's orders agree with both tools.
 */
export function compareIdsCodePoint(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      // Surrogates encode code points above U+FFFF, so they must sort after U+E000..U+FFFF.
      if (x >= 0xd800) x += x >= 0xe000 ? -0x800 : 0x2000;
      if (y >= 0xd800) y += y >= 0xe000 ? -0x800 : 0x2000;
      return x - y;
    }
  }
  return a.length - b.length;
}
