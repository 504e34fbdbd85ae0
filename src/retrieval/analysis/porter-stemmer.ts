/**
 * Lucene's PorterStemmer (org.apache.lucene.analysis.en.PorterStemmer), ported line
 * for line. It follows Martin Porter's reference C implementation, which departs
 * from the 1980 paper (e.g. `-logi` → `-log`, `-bli` → `-ble`) and leaves words of
 * one or two characters alone. Ported by hand rather than using npm `stemmer`
 * because that package does not give Lucene's output on every word: against Lucene
 * 8 on the 29,721-word SciFact vocabulary it differs on `eed` (npm: `e`), see
 * scripts/bm25/compare-with-lucene.ts; BM25 parity with Anserini needs the exact
 * same terms, and this port matched Lucene on every word of SciFact, Cranfield,
 * CISI and ADI.
 *
 * Characters other than a-z count as consonants, exactly as in Lucene.
 */
export class PorterStemmer {
  private b = new Uint16Array(64);
  private k = 0;
  private k0 = 0;
  private j = 0;

  stem(word: string): string {
    const len = word.length;
    if (len <= 2) return word; // k > k0 + 1 fails: Lucene returns the word unchanged
    if (this.b.length < len) this.b = new Uint16Array(len * 2);
    const b = this.b;
    for (let i = 0; i < len; i++) b[i] = word.charCodeAt(i);
    this.k = len - 1;
    this.k0 = 0;
    this.step1();
    this.step2();
    this.step3();
    this.step4();
    this.step5();
    this.step6();
    const outLen = this.k + 1;
    if (outLen === len) {
      // Unchanged length may still mean changed letters (y → i, ational → ...), so compare.
      let same = true;
      for (let i = 0; i < len; i++) {
        if (b[i] !== word.charCodeAt(i)) {
          same = false;
          break;
        }
      }
      if (same) return word;
    }
    return String.fromCharCode.apply(null, Array.from(b.subarray(0, outLen)));
  }

  /** Is b[i] a consonant? `y` is a consonant at the start or after a vowel. */
  private cons(i: number): boolean {
    switch (this.b[i]) {
      case 97: // a
      case 101: // e
      case 105: // i
      case 111: // o
      case 117: // u
        return false;
      case 121: // y
        return i === this.k0 ? true : !this.cons(i - 1);
      default:
        return true;
    }
  }

  /** The number of consonant-vowel sequences between k0 and j ("m" in the paper). */
  private m(): number {
    let n = 0;
    let i = this.k0;
    const j = this.j;
    for (;;) {
      if (i > j) return n;
      if (!this.cons(i)) break;
      i++;
    }
    i++;
    for (;;) {
      for (;;) {
        if (i > j) return n;
        if (this.cons(i)) break;
        i++;
      }
      i++;
      n++;
      for (;;) {
        if (i > j) return n;
        if (!this.cons(i)) break;
        i++;
      }
      i++;
    }
  }

  private vowelinstem(): boolean {
    for (let i = this.k0; i <= this.j; i++) if (!this.cons(i)) return true;
    return false;
  }

  private doublec(j: number): boolean {
    if (j < this.k0 + 1) return false;
    if (this.b[j] !== this.b[j - 1]) return false;
    return this.cons(j);
  }

  /** consonant-vowel-consonant ending at i, the last consonant not w, x or y. */
  private cvc(i: number): boolean {
    if (i < this.k0 + 2 || !this.cons(i) || this.cons(i - 1) || !this.cons(i - 2)) return false;
    const ch = this.b[i];
    return !(ch === 119 || ch === 120 || ch === 121);
  }

  private ends(s: string): boolean {
    const l = s.length;
    const o = this.k - l + 1;
    if (o < this.k0) return false;
    for (let i = 0; i < l; i++) if (this.b[o + i] !== s.charCodeAt(i)) return false;
    this.j = this.k - l;
    return true;
  }

  private setto(s: string): void {
    const l = s.length;
    const o = this.j + 1;
    for (let i = 0; i < l; i++) this.b[o + i] = s.charCodeAt(i);
    this.k = this.j + l;
  }

  private r(s: string): void {
    if (this.m() > 0) this.setto(s);
  }

  /** Plurals and -ed / -ing (Porter's step 1a/1b). */
  private step1(): void {
    const b = this.b;
    if (b[this.k] === 115 /* s */) {
      if (this.ends("sses")) this.k -= 2;
      else if (this.ends("ies")) this.setto("i");
      else if (b[this.k - 1] !== 115) this.k--;
    }
    if (this.ends("eed")) {
      if (this.m() > 0) this.k--;
    } else if ((this.ends("ed") || this.ends("ing")) && this.vowelinstem()) {
      this.k = this.j;
      if (this.ends("at")) this.setto("ate");
      else if (this.ends("bl")) this.setto("ble");
      else if (this.ends("iz")) this.setto("ize");
      else if (this.doublec(this.k)) {
        const ch = b[this.k--];
        if (ch === 108 /* l */ || ch === 115 /* s */ || ch === 122 /* z */) this.k++;
      } else if (this.m() === 1 && this.cvc(this.k)) this.setto("e");
    }
  }

  /** Terminal y → i when there is another vowel in the stem (step 1c). */
  private step2(): void {
    if (this.ends("y") && this.vowelinstem()) this.b[this.k] = 105;
  }

  /** Double suffixes to single ones (step 2 of the paper). */
  private step3(): void {
    if (this.k === this.k0) return;
    switch (this.b[this.k - 1]) {
      case 97: // a
        if (this.ends("ational")) { this.r("ate"); break; }
        if (this.ends("tional")) { this.r("tion"); break; }
        break;
      case 99: // c
        if (this.ends("enci")) { this.r("ence"); break; }
        if (this.ends("anci")) { this.r("ance"); break; }
        break;
      case 101: // e
        if (this.ends("izer")) { this.r("ize"); break; }
        break;
      case 108: // l
        if (this.ends("bli")) { this.r("ble"); break; }
        if (this.ends("alli")) { this.r("al"); break; }
        if (this.ends("entli")) { this.r("ent"); break; }
        if (this.ends("eli")) { this.r("e"); break; }
        if (this.ends("ousli")) { this.r("ous"); break; }
        break;
      case 111: // o
        if (this.ends("ization")) { this.r("ize"); break; }
        if (this.ends("ation")) { this.r("ate"); break; }
        if (this.ends("ator")) { this.r("ate"); break; }
        break;
      case 115: // s
        if (this.ends("alism")) { this.r("al"); break; }
        if (this.ends("iveness")) { this.r("ive"); break; }
        if (this.ends("fulness")) { this.r("ful"); break; }
        if (this.ends("ousness")) { this.r("ous"); break; }
        break;
      case 116: // t
        if (this.ends("aliti")) { this.r("al"); break; }
        if (this.ends("iviti")) { this.r("ive"); break; }
        if (this.ends("biliti")) { this.r("ble"); break; }
        break;
      case 103: // g
        if (this.ends("logi")) { this.r("log"); break; }
        break;
    }
  }

  /** -ic-, -full, -ness etc. (step 3 of the paper). */
  private step4(): void {
    switch (this.b[this.k]) {
      case 101: // e
        if (this.ends("icate")) { this.r("ic"); break; }
        if (this.ends("ative")) { this.r(""); break; }
        if (this.ends("alize")) { this.r("al"); break; }
        break;
      case 105: // i
        if (this.ends("iciti")) { this.r("ic"); break; }
        break;
      case 108: // l
        if (this.ends("ical")) { this.r("ic"); break; }
        if (this.ends("ful")) { this.r(""); break; }
        break;
      case 115: // s
        if (this.ends("ness")) { this.r(""); break; }
        break;
    }
  }

  /** -ant, -ence etc. in context <c>vcvc<v> (step 4 of the paper). */
  private step5(): void {
    if (this.k === this.k0) return;
    switch (this.b[this.k - 1]) {
      case 97: // a
        if (this.ends("al")) break;
        return;
      case 99: // c
        if (this.ends("ance")) break;
        if (this.ends("ence")) break;
        return;
      case 101: // e
        if (this.ends("er")) break;
        return;
      case 105: // i
        if (this.ends("ic")) break;
        return;
      case 108: // l
        if (this.ends("able")) break;
        if (this.ends("ible")) break;
        return;
      case 110: // n
        if (this.ends("ant")) break;
        if (this.ends("ement")) break;
        if (this.ends("ment")) break;
        if (this.ends("ent")) break;
        return;
      case 111: // o
        if (this.ends("ion") && this.j >= 0 && (this.b[this.j] === 115 || this.b[this.j] === 116)) break;
        if (this.ends("ou")) break;
        return;
      case 115: // s
        if (this.ends("ism")) break;
        return;
      case 116: // t
        if (this.ends("ate")) break;
        if (this.ends("iti")) break;
        return;
      case 117: // u
        if (this.ends("ous")) break;
        return;
      case 118: // v
        if (this.ends("ive")) break;
        return;
      case 122: // z
        if (this.ends("ize")) break;
        return;
      default:
        return;
    }
    if (this.m() > 1) this.k = this.j;
  }

  /** Final -e and -ll (step 5 of the paper). */
  private step6(): void {
    this.j = this.k;
    if (this.b[this.k] === 101 /* e */) {
      const a = this.m();
      if (a > 1 || (a === 1 && !this.cvc(this.k - 1))) this.k--;
    }
    if (this.b[this.k] === 108 /* l */ && this.doublec(this.k) && this.m() > 1) this.k--;
  }
}
