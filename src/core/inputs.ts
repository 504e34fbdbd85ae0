import { InvalidInputError } from "./errors.js";
import type { Candidate, CandidateInput, Document, Query, QueryInput } from "./types.js";

// Whitespace, control (Cc: NUL, BEL, …) and format (Cf: zero-width space, BOM, …)
// characters only. BERT-style tokenizers drop control and format characters, so such a
// text reaches the model as nothing at all.
const BLANK_TEXT = /^[\s\p{Cc}\p{Cf}]*$/u;

/** Whether a text has nothing a model could read: empty, or only whitespace, control and format characters. */
export function isBlankText(text: string): boolean {
  return BLANK_TEXT.test(text);
}

/** Normalizes a query argument, rejecting empty, blank or non-string text. */
export function toQuery(query: QueryInput): Query {
  const q: Query = typeof query === "string" ? { text: query } : query;
  if (q === null || typeof q !== "object" || typeof q.text !== "string") {
    throw new InvalidInputError("query must be a string or an object with a string `text`", { field: "query" });
  }
  if (isBlankText(q.text)) {
    throw new InvalidInputError("query must not be empty (or only whitespace and control characters)", { field: "query" });
  }
  return q;
}

function isCandidate(x: CandidateInput): x is Candidate {
  return typeof x === "object" && x !== null && "document" in x;
}

/**
 * Normalizes whatever a caller handed a reranker into candidates, keeping the input
 * order (rank = position + 1 when none was given). Strings get their index as id.
 */
export function toCandidates(inputs: readonly CandidateInput[]): Candidate[] {
  if (!Array.isArray(inputs)) {
    throw new InvalidInputError("candidates must be an array", { field: "candidates" });
  }
  return inputs.map((item, i) => {
    if (typeof item === "string") {
      return { document: { id: String(i), text: item }, score: 0, rank: i + 1 };
    }
    if (item === null || typeof item !== "object") {
      throw new InvalidInputError(`candidates[${i}] must be a string, a document or a candidate`, {
        field: `candidates[${i}]`,
      });
    }
    const cand: Candidate = isCandidate(item) ? item : { document: item as Document, score: 0, rank: i + 1 };
    const doc = cand.document;
    if (doc === null || typeof doc !== "object" || typeof doc.text !== "string") {
      throw new InvalidInputError(`candidates[${i}] text must be a string`, { field: `candidates[${i}].text` });
    }
    if (doc.title !== undefined && typeof doc.title !== "string") {
      throw new InvalidInputError(`candidates[${i}] title must be a string`, { field: `candidates[${i}].title` });
    }
    if (typeof doc.id !== "string") {
      return { ...cand, document: { ...doc, id: String(doc.id ?? i) } };
    }
    return cand;
  });
}

/** The text a reranker reads for a document: title and text joined, as the flat BEIR setting does. */
export function documentText(doc: Document): string {
  return doc.title ? `${doc.title} ${doc.text}` : doc.text;
}
