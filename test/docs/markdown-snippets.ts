/**
 * Extracts what a reader of the README and docs/ would copy and run: shell commands,
 * TypeScript programs, and the config files the prose names, each with the page and
 * line it comes from, so a failing snippet can be found at once. Pure text processing;
 * what is run, substituted or excluded is decided by docs-plan.ts.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export type SnippetKind =
  /** One logical shell command (backslash continuations joined, comments dropped). */
  | "command"
  /** A ```ts block: a program. */
  | "typescript"
  /** A ```yaml / ```json block the text right before it names as a file (`hybrid.yaml`:). */
  | "file"
  /** A ```yaml block that is part of a config, not a whole file. */
  | "fragment"
  /** What a command prints, an error shown as an example, a folder layout. */
  | "output"
  /** A fenced block in a language the harness has no runner for. */
  | "unknown";

export interface Snippet {
  kind: SnippetKind;
  /** The page, relative to the repository root ("docs/pipelines.md"). */
  page: string;
  /** 1-based line of the snippet's first line in the page. */
  line: number;
  /** The fence's language tag ("" when none). */
  lang: string;
  /** The command (continuations joined) or the block's body. */
  text: string;
  /** Kind "file": the name the text gives the block. */
  fileName?: string;
  /** Kind "command": the comments on and right below the command's lines (`# → …` notes). */
  notes: string[];
  /** Kind "output" right after a shell block (nothing but blank lines between): that block's last command. */
  outputOf?: Snippet;
  /** Kind "command": the index of its fenced block in the page (commands of one block share it). */
  block: number;
}

const SHELL = new Set(["bash", "sh", "shell", "zsh", "console"]);
const TYPESCRIPT = new Set(["ts", "typescript"]);
const CONFIG = new Set(["yaml", "yml", "json"]);
const OUTPUT = new Set(["", "text", "txt", "jsonc"]);

/** Whitespace collapsed: how rules name a command (the docs align comments with spaces). */
export function normalizeCommand(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

interface Fence {
  lang: string;
  /** Line of the opening fence (1-based). */
  line: number;
  body: string[];
  /** The prose paragraph right before the fence ("" when another block or nothing precedes it). */
  paragraph: string;
  /** Only blank lines between the previous fence's end and this one. */
  directlyAfterBlock: boolean;
}

function fences(markdown: string): Fence[] {
  const lines = markdown.split(/\r?\n/);
  const out: Fence[] = [];
  let prose: string[] = [];
  let lastWasBlock = false;
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/.exec(lines[i]);
    if (!open) {
      if (lines[i].trim() === "") {
        if (prose.length) prose.push("");
      } else {
        prose.push(lines[i]);
        lastWasBlock = false;
      }
      continue;
    }
    const marker = open[2];
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !lines[j].trimStart().startsWith(marker); j++) body.push(lines[j]);
    // The last paragraph of the prose since the previous block: what "`hybrid.yaml`:" sits in.
    const paragraphs = prose.join("\n").trim().split(/\n\s*\n/);
    out.push({ lang: open[3].toLowerCase(), line: i + 1, body, paragraph: paragraphs[paragraphs.length - 1] ?? "", directlyAfterBlock: lastWasBlock });
    prose = [];
    lastWasBlock = true;
    i = j;
  }
  return out;
}

/**
 * Splits a shell block into logical commands: a newline ends a command unless it is
 * escaped by a trailing backslash or falls inside a quoted string (curl -d '{ … }' over
 * several lines); `#` starting a word outside quotes begins a comment; a here-document
 * (`cat > f <<'EOF'` … `EOF`) belongs to the command that opens it.
 */
export function splitShellCommands(body: string[], firstLine: number): Array<{ text: string; line: number; notes: string[] }> {
  const commands: Array<{ text: string; line: number; notes: string[] }> = [];
  let cur = "";
  let start = 0;
  let notes: string[] = [];
  let quote: "'" | '"' | null = null;
  let heredoc: { delimiter: string; command: { text: string } } | undefined;
  let joining = false;
  for (const [k, line] of body.entries()) {
    // A continuation line's indentation is layout, not part of the command.
    const raw = joining ? line.trimStart() : line;
    joining = false;
    if (heredoc) {
      heredoc.command.text += `\n${line}`;
      if (line.trim() === heredoc.delimiter) heredoc = undefined;
      continue;
    }
    let continued = false;
    let comment: string | undefined;
    for (let j = 0; j < raw.length; j++) {
      const c = raw[j];
      if (quote === "'") {
        if (c === "'") quote = null;
        cur += c;
        continue;
      }
      if (quote === '"') {
        if (c === "\\" && j + 1 < raw.length) {
          cur += c + raw[++j];
          continue;
        }
        if (c === '"') quote = null;
        cur += c;
        continue;
      }
      if (c === "'" || c === '"') {
        quote = c;
        cur += c;
        continue;
      }
      if (c === "\\") {
        if (raw.slice(j + 1).trim() === "") {
          continued = true;
          break;
        }
        cur += c + raw[++j];
        continue;
      }
      if (c === "#" && (j === 0 || /\s/.test(raw[j - 1]))) {
        comment = raw.slice(j + 1).trim();
        break;
      }
      cur += c;
    }
    if (start === 0 && cur.trim() !== "") start = firstLine + k;
    if (comment !== undefined) {
      if (cur.trim() !== "") notes.push(comment);
      // A comment line of its own that starts with an arrow says what the command above printed.
      else if (comment.startsWith("→") && commands.length > 0) commands[commands.length - 1].notes.push(comment);
    }
    if (quote !== null) {
      cur += "\n";
      continue;
    }
    if (continued) {
      cur = cur.trimEnd() + " ";
      joining = true;
      continue;
    }
    if (cur.trim() !== "") {
      const command = { text: cur.trim(), line: start, notes };
      commands.push(command);
      const opens = /<<-?\s*(['"]?)([A-Za-z_]\w*)\1/.exec(command.text);
      if (opens) heredoc = { delimiter: opens[2], command };
    }
    cur = "";
    start = 0;
    notes = [];
  }
  if (cur.trim() !== "") commands.push({ text: cur.trim(), line: start, notes });
  return commands;
}

/**
 * The file a config block is, when the paragraph right before it says so: it ends with
 * the backticked name and a colon ("`hybrid.yaml`:"), or shows the command that reads it
 * ("`winnow serve --config server.yaml`"). The extension must fit the block's language.
 */
function namedFile(paragraph: string, lang: string): string | undefined {
  const fits = (name: string) => (lang === "json" ? /\.json$/ : /\.ya?ml$/).test(name);
  const titled = /`([\w./-]+)`:\s*$/.exec(paragraph)?.[1];
  if (titled && fits(titled)) return titled;
  for (const code of paragraph.matchAll(/`([^`]+)`/g)) {
    const name = /--config\s+([\w./-]+)/.exec(code[1])?.[1];
    if (name && fits(name)) return name;
  }
  return undefined;
}

export function extractSnippets(page: string, markdown: string): Snippet[] {
  const out: Snippet[] = [];
  let lastCommand: Snippet | undefined;
  for (const [block, f] of fences(markdown).entries()) {
    const bodyLine = f.line + 1;
    const text = f.body.join("\n");
    const base = { page, lang: f.lang, notes: [] as string[], block };
    const previousBlockCommand = f.directlyAfterBlock ? lastCommand : undefined;
    lastCommand = undefined;
    if (SHELL.has(f.lang)) {
      for (const c of splitShellCommands(f.body, bodyLine)) {
        const s: Snippet = { ...base, kind: "command", line: c.line, text: c.text, notes: c.notes };
        out.push(s);
        lastCommand = s;
      }
    } else if (TYPESCRIPT.has(f.lang)) {
      out.push({ ...base, kind: "typescript", line: bodyLine, text });
    } else if (CONFIG.has(f.lang)) {
      const fileName = namedFile(f.paragraph, f.lang);
      if (fileName) out.push({ ...base, kind: "file", line: bodyLine, text, fileName });
      else if (f.lang === "json" || previousBlockCommand) out.push({ ...base, kind: "output", line: bodyLine, text, outputOf: previousBlockCommand });
      else out.push({ ...base, kind: "fragment", line: bodyLine, text });
    } else if (OUTPUT.has(f.lang)) {
      // A transcript ("$ npx tsx bench/fusion.ts …" then what it printed) still shows a command.
      for (const [k, l] of f.body.entries()) {
        const prompt = /^\$\s+(.+)$/.exec(l);
        if (prompt) out.push({ ...base, kind: "command", line: bodyLine + k, text: prompt[1].trim() });
      }
      out.push({ ...base, kind: "output", line: bodyLine, text, outputOf: previousBlockCommand });
    } else {
      out.push({ ...base, kind: "unknown", line: bodyLine, text });
    }
  }
  return out;
}

/** README.md and every docs/*.md, relative to `root`, in a stable order. */
export function documentationPages(root: string): string[] {
  const docs = readdirSync(join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`);
  return ["README.md", ...docs];
}

export function extractPage(root: string, page: string): Snippet[] {
  return extractSnippets(page, readFileSync(join(root, page), "utf8"));
}
