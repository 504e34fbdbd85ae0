/**
 * The files of one segment folder (docs/bm25-index-format.md describes each layout).
 * Small files are read whole when a segment opens; large ones are read at offsets.
 */
export const SEGMENT_FILES = {
  /** Sorted term dictionary in blocks of TERMS_PER_BLOCK, prefix-coded. */
  terms: "terms.bin",
  /** First term and offset of every dictionary block (read at open). */
  termsIndex: "terms.idx",
  postings: "postings.bin",
  /** One Lucene norm byte per document. */
  norms: "norms.u8",
  /** Per-document rank of its id among the segment's ids (tie-breaks), u32. */
  idRank: "id-rank.u32",
  /** Ids in id order in blocks of IDS_PER_BLOCK, with their document numbers. */
  ids: "ids.bin",
  idsIndex: "ids.idx",
  /** Each document's id, by document number: UTF-8 bytes and u32 offsets. */
  docIds: "doc-ids.bin",
  docIdOffsets: "doc-ids.off",
  /** Forward term vectors (title length, term ordinals in order); float64 offsets. */
  vectors: "vectors.bin",
  vectorOffsets: "vectors.off",
  /** Stored fields, deflated in blocks of about STORED_PER_BLOCK documents; (first doc, offset) pairs. */
  stored: "stored.bin",
  storedIndex: "stored.idx",
} as const;

export const TERMS_PER_BLOCK = 64;
export const IDS_PER_BLOCK = 64;
export const STORED_PER_BLOCK = 64;
/** Files read whole at open (bounded by vocabulary/64 or documents/64, or 1 byte/4 bytes per document, lazily). */
export const SMALL_FILES = new Set<string>([SEGMENT_FILES.termsIndex, SEGMENT_FILES.idsIndex, SEGMENT_FILES.storedIndex]);

/** How stored text is kept: deflated in the segment, not at all, or as a byte range of the source file. */
export type StoreTextMode = "compressed" | "none" | "source";
export const STORE_TEXT_MODES: ReadonlyArray<StoreTextMode> = ["compressed", "none", "source"];
