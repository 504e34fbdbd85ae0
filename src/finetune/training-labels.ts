/**
 * Training labels: `winnow label` output or any BEIR/TREC qrels (graded), or a BEIR-style
 * TSV whose header has a fourth column `teacher-score` (a teacher reranker's score per
 * pair, for margin-MSE distillation).
 */
import { InvalidInputError } from "../core/errors.js";
import { readLines, requirePath } from "../eval/readers/line-reader.js";
import { readQrelsWithLines, type Qrels } from "../eval/readers/qrels.js";

export interface TrainingLabels {
  file: string;
  qrels: Qrels;
  /** query → document → teacher score, when the file carries them. */
  teacher?: Map<string, Map<string, number>>;
  /** query → 1-based line of its first label. */
  firstLine: Map<string, number>;
}

async function firstLineOf(path: string): Promise<string | undefined> {
  for await (const { line } of readLines(path)) if (line.trim()) return line.trim();
  return undefined;
}

export async function readTrainingLabels(path: string): Promise<TrainingLabels> {
  await requirePath(path, "file", "labels file");
  const head = await firstLineOf(path);
  const columns = head?.split(/\s+/) ?? [];
  if (!columns.includes("teacher-score")) {
    const { qrels, firstLine } = await readQrelsWithLines(path);
    return { file: path, qrels, firstLine };
  }
  const qi = columns.indexOf("query-id");
  const di = columns.indexOf("corpus-id");
  const gi = columns.indexOf("score");
  const ti = columns.indexOf("teacher-score");
  if (qi < 0 || di < 0 || gi < 0) throw new InvalidInputError(`${path}:1: a teacher-score header needs query-id, corpus-id and score columns too`, { file: path, line: 1 });
  const qrels: Qrels = new Map();
  const teacher = new Map<string, Map<string, number>>();
  const firstLine = new Map<string, number>();
  let header = true;
  for await (const { line, lineNumber } of readLines(path)) {
    if (!line.trim()) continue;
    if (header) {
      header = false;
      continue;
    }
    const f = line.trim().split(/\s+/);
    if (f.length !== columns.length) throw new InvalidInputError(`${path}:${lineNumber}: ${f.length} fields, the header has ${columns.length}`, { file: path, line: lineNumber });
    const grade = Number(f[gi]);
    const score = Number(f[ti]);
    if (!Number.isInteger(grade)) throw new InvalidInputError(`${path}:${lineNumber}: score (the grade) must be an integer, got "${f[gi]}"`, { file: path, line: lineNumber, field: "score" });
    if (!Number.isFinite(score)) throw new InvalidInputError(`${path}:${lineNumber}: teacher-score must be a finite number, got "${f[ti]}"`, { file: path, line: lineNumber, field: "teacher-score" });
    const [q, d] = [f[qi], f[di]];
    if (!qrels.has(q)) {
      qrels.set(q, new Map());
      teacher.set(q, new Map());
      firstLine.set(q, lineNumber);
    }
    if (qrels.get(q)!.has(d)) throw new InvalidInputError(`${path}:${lineNumber}: duplicate label for query "${q}" document "${d}"`, { file: path, line: lineNumber });
    qrels.get(q)!.set(d, grade);
    teacher.get(q)!.set(d, score);
  }
  if (qrels.size === 0) throw new InvalidInputError(`${path}: no labels`, { file: path });
  return { file: path, qrels, teacher, firstLine };
}
