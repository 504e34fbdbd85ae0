/**
 * Test support: an independent SentencePiece Unigram tokenizer for the XLM-R-style
 * tokenizer.json the generator writes (NFKC + lowercase + collapsed spaces, Metaspace
 * with "▁" prepended and words split before each "▁", Viterbi over piece scores,
 * unknown characters as <unk> with consecutive ones fused), written from the algorithm's
 * description, sharing no code with @huggingface/tokenizers.
 */
export interface ReferenceUnigramSpec {
  vocab: Array<[string, number]>;
  unkId: number;
}

export function referenceUnigramTokenize(text: string, spec: ReferenceUnigramSpec): string[] {
  const scores = new Map<string, number>();
  let minScore = Infinity;
  spec.vocab.forEach(([piece, score], id) => {
    if (id === spec.unkId) return;
    scores.set(piece, score);
    minScore = Math.min(minScore, score);
  });
  const unkScore = minScore - 10;
  const unk = spec.vocab[spec.unkId][0];
  let normalized = text.normalize("NFKC").toLowerCase().replace(/ {2,}/g, " ");
  if (normalized === "") return [];
  normalized = normalized.replace(/ /g, "\u2581");
  if (!normalized.startsWith("\u2581")) normalized = `\u2581${normalized}`;
  // Split before every "▁" (each word keeps its leading marker).
  const words = normalized.split(/(?=\u2581)/u);
  const out: string[] = [];
  for (const word of words) {
    const chars = Array.from(word);
    const best = new Array<number>(chars.length + 1).fill(-Infinity);
    const from = new Array<number>(chars.length + 1).fill(-1);
    const isUnk = new Array<boolean>(chars.length + 1).fill(false);
    best[0] = 0;
    for (let end = 1; end <= chars.length; end++) {
      for (let start = 0; start < end; start++) {
        if (best[start] === -Infinity) continue;
        const piece = chars.slice(start, end).join("");
        const s = scores.get(piece);
        if (s !== undefined && best[start] + s > best[end]) {
          best[end] = best[start] + s;
          from[end] = start;
          isUnk[end] = false;
        }
      }
      // A single character no piece covers is unknown.
      if (from[end] < 0 || best[end] === -Infinity) {
        if (best[end - 1] + unkScore > best[end]) {
          best[end] = best[end - 1] + unkScore;
          from[end] = end - 1;
          isUnk[end] = true;
        }
      }
    }
    const pieces: Array<{ text: string; unk: boolean }> = [];
    for (let end = chars.length; end > 0; end = from[end]) pieces.unshift({ text: chars.slice(from[end], end).join(""), unk: isUnk[end] });
    for (let i = 0; i < pieces.length; i++) {
      if (pieces[i].unk) {
        if (out.length > 0 && out[out.length - 1] === unk && i > 0 && pieces[i - 1].unk) continue; // fused
        out.push(unk);
      } else out.push(pieces[i].text);
    }
  }
  return out;
}
