/**
 * Turns labels into what the trainer reads: groups of one positive and k negatives per
 * labelled relevant document (negatives: lower-graded judged documents and first-stage
 * hard negatives the labels do not judge relevant), and, for validation, each held-out
 * query's first-stage candidates with their grades and the query's ideal DCG@10.
 * Tokenized as the reranker tokenizes (PairEncoder, one window, query capped).
 */
import { InvalidInputError } from "../core/errors.js";
import { documentText } from "../core/inputs.js";
import { SeededRandom } from "../core/seeded-random.js";
import type { Query } from "../core/types.js";
import { readCorpus } from "../eval/readers/beir.js";
import type { Qrels } from "../eval/readers/qrels.js";
import type { FirstStageRetriever } from "../retrieval/registry.js";
import type { PairEncoder } from "../rerankers/cross-encoder/pair-encoder.js";
import type { TrainingLabels } from "./training-labels.js";
import type { PackedRows } from "./trainer-protocol.js";

export interface TrainingDataOptions {
  dataset: string;
  queries: Map<string, Query>;
  labels: TrainingLabels;
  /** labelledTexts' result. */
  texts: Map<string, string>;
  /** Validation judgments (a split, or held out of the labels); undefined: no validation. */
  validation?: { qrels: Qrels; queryIds: string[] };
  retriever: FirstStageRetriever;
  encoder: PairEncoder;
  negatives: number;
  /** First-stage depth hard negatives are drawn from. */
  negativeDepth: number;
  validationCandidates: number;
  seed: number;
  /** margin-MSE: every row needs a teacher score, so negatives come from judged documents only. */
  needTeacher: boolean;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface TrainingData {
  groupSize: number;
  rows: PackedRows;
  labels: Float32Array;
  teacher: Float32Array;
  groups: number;
  trainQueries: number;
  /** Relevant labels that got no group: too few negatives (or no teacher scores for them). */
  skippedPositives: number;
  maxGrade: number;
  validation?: {
    rows: PackedRows;
    labels: Float32Array;
    queryOffsets: number[];
    idealDcg: Float32Array;
    queries: number;
    /** nDCG@10 of the first stage's own order over the same candidates. */
    firstStageNdcg10: number;
  };
}

function idealDcg10(grades: Iterable<number>): number {
  return [...grades]
    .filter((g) => g > 0)
    .sort((a, b) => b - a)
    .slice(0, 10)
    .reduce((s, g, r) => s + g / Math.log2(r + 2), 0);
}

function pushRow(rows: PackedRows, ids: Int32Array, types: Uint8Array): void {
  for (let i = 0; i < ids.length; i++) {
    rows.ids.push(ids[i]);
    rows.types.push(types[i]);
  }
  rows.offsets.push(rows.ids.length);
}

/**
 * Checks every label against the queries and the corpus (one line naming the labels file
 * and line for the first that is missing) and returns the labelled documents' texts: only
 * those are kept in memory, retrieved ones come with their text. Cheap, so it runs before
 * the first stage is built.
 */
export async function labelledTexts(dataset: string, queries: Map<string, Query>, labels: TrainingLabels): Promise<Map<string, string>> {
  const corpusFile = `${dataset}/corpus.jsonl`;
  for (const [qid] of labels.qrels) {
    if (!queries.has(qid)) {
      throw new InvalidInputError(`${labels.file}:${labels.firstLine.get(qid)}: query "${qid}" is not in ${dataset}/queries.jsonl`, { file: labels.file, field: "query-id", value: qid });
    }
  }
  const wanted = new Set<string>();
  for (const docs of labels.qrels.values()) for (const d of docs.keys()) wanted.add(d);
  const texts = new Map<string, string>();
  for await (const doc of readCorpus(dataset)) if (wanted.has(doc.id ?? "")) texts.set(doc.id!, documentText(doc));
  for (const [qid, docs] of labels.qrels) {
    for (const d of docs.keys()) {
      if (!texts.has(d)) {
        throw new InvalidInputError(`${labels.file}:${labels.firstLine.get(qid)}: query "${qid}" labels document "${d}", which is not in ${corpusFile}`, { file: labels.file, field: "corpus-id", value: d });
      }
    }
  }
  return texts;
}

export async function buildTrainingData(o: TrainingDataOptions): Promise<TrainingData> {
  const { labels, texts } = o;
  const heldOut = new Set(o.validation?.queryIds ?? []);
  const trainIds = [...labels.qrels.keys()].filter((q) => !heldOut.has(q));
  const rng = new SeededRandom(o.seed);
  const G = o.negatives + 1;
  const rows: PackedRows = { ids: [], types: [], offsets: [0] };
  const rowLabels: number[] = [];
  const rowTeacher: number[] = [];
  let groups = 0;
  let skipped = 0;
  let maxGrade = 0;
  for (let qi = 0; qi < trainIds.length; qi++) {
    const qid = trainIds[qi];
    const query = o.queries.get(qid)!;
    const judged = labels.qrels.get(qid)!;
    const teacher = labels.teacher?.get(qid);
    const hits = o.needTeacher ? [] : await o.retriever.search(query, o.negativeDepth);
    // Hard negatives: retrieved documents the labels do not judge (unjudged = not relevant).
    const unjudged = hits.filter((h) => !judged.has(h.document.id ?? "")).map((h) => ({ id: h.document.id ?? "", text: documentText(h.document), grade: 0 }));
    for (const [docId, grade] of judged) {
      maxGrade = Math.max(maxGrade, grade);
      if (grade < 1) continue;
      const lower = [...judged].filter(([d, g]) => g < grade && (!o.needTeacher || teacher?.has(d))).map(([d, g]) => ({ id: d, text: texts.get(d)!, grade: g }));
      const pool = [...lower, ...unjudged];
      if (pool.length < o.negatives || (o.needTeacher && !teacher?.has(docId))) {
        skipped++;
        continue;
      }
      for (let i = 0; i < o.negatives; i++) {
        const j = i + Math.floor(rng.uniform() * (pool.length - i));
        [pool[i], pool[j]] = [pool[j], pool[i]];
      }
      const members = [{ id: docId, text: texts.get(docId)!, grade }, ...pool.slice(0, o.negatives)];
      const enc = o.encoder.encode(query.text, members.map((m) => m.text), { truncate: true });
      enc.units.forEach((u, i) => {
        pushRow(rows, u.ids, u.typeIds);
        rowLabels.push(members[i].grade);
        rowTeacher.push(teacher?.get(members[i].id) ?? Number.NaN);
      });
      groups++;
    }
    o.onProgress?.("mining negatives", qi + 1, trainIds.length);
  }
  if (groups === 0) {
    throw new InvalidInputError(`${labels.file}: no training group could be formed (${skipped} relevant labels, each needs ${o.negatives} negatives${o.needTeacher ? " with teacher scores" : ""})`, { file: labels.file });
  }

  let validation: TrainingData["validation"];
  if (o.validation && o.validation.queryIds.length > 0) {
    const vrows: PackedRows = { ids: [], types: [], offsets: [0] };
    const vlabels: number[] = [];
    const offsets = [0];
    const ideal: number[] = [];
    let firstStage = 0;
    const ids = o.validation.queryIds;
    for (let i = 0; i < ids.length; i++) {
      const query = o.queries.get(ids[i]);
      const judged = o.validation.qrels.get(ids[i]) ?? new Map<string, number>();
      const best = idealDcg10(judged.values());
      o.onProgress?.("validation candidates", i + 1, ids.length);
      if (!query || best <= 0) continue;
      const hits = await o.retriever.search(query, o.validationCandidates);
      if (hits.length === 0) continue;
      const enc = o.encoder.encode(query.text, hits.map((h) => documentText(h.document)), { truncate: true });
      const grades = hits.map((h) => Math.max(0, judged.get(h.document.id ?? "") ?? 0));
      enc.units.forEach((u, j) => {
        pushRow(vrows, u.ids, u.typeIds);
        vlabels.push(grades[j]);
      });
      firstStage += grades.slice(0, 10).reduce((s, g, r) => s + g / Math.log2(r + 2), 0) / best;
      offsets.push(vlabels.length);
      ideal.push(best);
    }
    if (ideal.length > 0) {
      validation = { rows: vrows, labels: Float32Array.from(vlabels), queryOffsets: offsets, idealDcg: Float32Array.from(ideal), queries: ideal.length, firstStageNdcg10: firstStage / ideal.length };
    }
  }
  return { groupSize: G, rows, labels: Float32Array.from(rowLabels), teacher: Float32Array.from(rowTeacher), groups, trainQueries: trainIds.length, skippedPositives: skipped, maxGrade, validation };
}
