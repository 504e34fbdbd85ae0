/**
 * The prompts the LLM reranker sends, as replaceable templates. Placeholders:
 * `{query}`, `{instruction}` (the per-call instruction line, or empty), `{n}` (passages
 * in this call), `{passages}` (listwise/pointwise: "[1] text" lines), `{passage}`
 * (yes/no), `{passage_a}` / `{passage_b}` (pairwise). Unknown placeholders are left as is.
 */
export interface ChatTemplate {
  system: string;
  user: string;
}

export interface PromptTemplates {
  /** RankGPT permutation generation (Sun et al., 2023). */
  listwise: ChatTemplate;
  /** Several passages scored 0–10 in one call, answered as JSON. */
  pointwise: ChatTemplate;
  /** One passage, answered "yes"/"no"; scored from the log-probabilities of that first token. */
  yesNo: ChatTemplate;
  /** Two passages; the answer names the better one ("Passage A"/"Passage B"), as in PRP (Qin et al., 2023). */
  pairwise: ChatTemplate;
}

export const DEFAULT_TEMPLATES: PromptTemplates = {
  listwise: {
    system: "You are RankGPT, an intelligent assistant that can rank passages based on their relevancy to the query.",
    user: [
      "I will provide you with {n} passages, each indicated by a numerical identifier []. Rank the passages based on their relevance to the search query.",
      "{instruction}",
      "{passages}",
      "Search Query: {query}",
      "Rank the {n} passages above based on their relevance to the search query. All the passages should be included and listed using identifiers, in descending order of relevance. The output format should be [] > [], e.g., [2] > [1]. Only respond with the ranking results, do not say any word or explain.",
    ].join("\n"),
  },
  pointwise: {
    system: "You are a search relevance judge. You rate passages strictly and answer only with JSON.",
    user: [
      "Rate how relevant each passage is to the search query, from 0 (irrelevant) to 10 (answers it perfectly).",
      "{instruction}",
      "Search Query: {query}",
      "{passages}",
      'Answer with a JSON object only, one entry per passage identifier, e.g. {"1": 7, "2": 0}.',
    ].join("\n"),
  },
  yesNo: {
    system: "You are a search relevance judge.",
    user: ["Search Query: {query}", "Passage: {passage}", "{instruction}", 'Is the passage relevant to the search query? Answer only "yes" or "no".'].join("\n"),
  },
  pairwise: {
    system: "You are a search relevance judge.",
    user: [
      'Given the search query "{query}", which of the following two passages is more relevant to it?',
      "{instruction}",
      "Passage A: {passage_a}",
      "Passage B: {passage_b}",
      'Output only "Passage A" or "Passage B". Do not explain.',
    ].join("\n"),
  },
};

/** Fills `{name}` placeholders; an empty value removes a line that held only that placeholder. */
export function renderTemplate(template: string, values: Record<string, string>): string {
  const lines = template.split("\n").filter((line) => {
    const m = /^\s*\{(\w+)\}\s*$/.exec(line);
    return !(m && m[1] in values && values[m[1]] === "");
  });
  return lines.join("\n").replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? values[name] : whole));
}

/** "[1] first passage\n[2] second…" — ids are 1-based, as the prompts promise. */
export function numberedPassages(passages: readonly string[]): string {
  return passages.map((p, i) => `[${i + 1}] ${p}`).join("\n");
}
