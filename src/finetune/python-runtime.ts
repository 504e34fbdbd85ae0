/**
 * Finds the Python that trains: $WINNOW_PYTHON, else Debian's /usr/bin/python3 (where
 * apt's python3-torch lives; a pyenv or venv python3 earlier on PATH usually lacks it),
 * else python3 on PATH; and checks that it imports torch. Missing → one line saying what
 * to install. Nothing else in Winnow needs Python.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { WinnowError } from "../core/errors.js";

export interface PythonRuntime {
  python: string;
  torchVersion: string;
  /** Where the choice came from: "WINNOW_PYTHON", "option", "/usr/bin/python3" or "PATH". */
  from: string;
}

export const INSTALL_TORCH_HINT = "apt-get install python3-torch";

function probe(python: string): Promise<{ ok: true; version: string } | { ok: false; why: string }> {
  return new Promise((done) => {
    execFile(python, ["-c", "import torch, sys; sys.stdout.write(torch.__version__)"], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (!err) return done({ ok: true, version: stdout.trim() });
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return done({ ok: false, why: "not found" });
      const last = String(stderr).trim().split("\n").pop() ?? err.message;
      done({ ok: false, why: last.includes("No module named") ? "no torch module" : last });
    });
  });
}

/** The interpreter to train with; `python` (an option) wins over the environment. */
export async function findPythonWithTorch(python?: string, env: NodeJS.ProcessEnv = process.env): Promise<PythonRuntime> {
  const explicit = python ?? env.WINNOW_PYTHON;
  if (explicit) {
    const from = python ? "option" : "WINNOW_PYTHON";
    const r = await probe(explicit);
    if (r.ok) return { python: explicit, torchVersion: r.version, from };
    const what = from === "option" ? `python ${explicit}` : `WINNOW_PYTHON=${explicit}`;
    throw new WinnowError("CONFIG_INVALID", `${what}: ${r.why === "not found" ? "no such interpreter" : `cannot import torch (${r.why})`}; ${INSTALL_TORCH_HINT} and use /usr/bin/python3, or point WINNOW_PYTHON at a Python with torch`, {
      details: { field: from, python: explicit },
    });
  }
  const candidates = [...(existsSync("/usr/bin/python3") ? [["/usr/bin/python3", "/usr/bin/python3"]] : []), ["python3", "PATH"]];
  const tried: string[] = [];
  for (const [cmd, from] of candidates) {
    const r = await probe(cmd);
    if (r.ok) return { python: cmd, torchVersion: r.version, from };
    tried.push(`${cmd}: ${r.why}`);
  }
  throw new WinnowError("CONFIG_INVALID", `fine-tuning needs PyTorch and no Python here has it (${tried.join("; ")}): ${INSTALL_TORCH_HINT} (or set WINNOW_PYTHON)`, { details: { tried } });
}
