/**
 * The witness file: every signed checkpoint, appended outside the database (default
 * `<database>.witness`). A database restored from an old backup, or cut after a
 * checkpoint, no longer reaches the tree sizes the witness file remembers.
 *
 * One JSON object a line: {"treeSize":1042,"at":"2025-01-01T00:00:00.000Z","note":"..."}.
 * Lines are appended with O_APPEND and synced. A torn last line (a crash mid-write) is
 * ignored; any other unreadable line is reported.
 */
import { open, readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { AitrailError, errorMessage } from "../errors.js";

export interface WitnessEntry {
  treeSize: number;
  at: string;
  note: string;
}

/** `<database>.witness` beside the database file. */
export function defaultWitnessFile(dbPath: string): string {
  return `${resolve(dbPath)}.witness`;
}

export async function appendWitness(file: string, entry: WitnessEntry): Promise<void> {
  const line = JSON.stringify({ treeSize: entry.treeSize, at: entry.at, note: entry.note }) + "\n";
  try {
    const handle = await open(file, "a", 0o600);
    try {
      await handle.writeFile(line);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new AitrailError("STORE_ERROR", `cannot append the checkpoint to the witness file ${file}: ${errorMessage(err)}`, { cause: err });
  }
}

/** The witness file's entries in file order; null when the file does not exist. */
export async function readWitness(file: string): Promise<WitnessEntry[] | null> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as { code?: unknown }).code === "ENOENT") return null;
    throw new AitrailError("STORE_ERROR", `cannot read the witness file ${file}: ${errorMessage(err)}`, { cause: err });
  }
  const lines = text.split("\n");
  // The part after the last newline is empty, or a write that did not finish: ignored.
  lines.pop();
  const entries: WitnessEntry[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    const entry = parseLine(line);
    if (!entry) throw new AitrailError("INTEGRITY_VIOLATION", `witness file ${file} line ${i + 1} is not a checkpoint entry`, { details: { file, line: i + 1 } });
    entries.push(entry);
  });
  return entries;
}

function parseLine(line: string): WitnessEntry | null {
  try {
    const v = JSON.parse(line) as Record<string, unknown>;
    if (typeof v !== "object" || v === null) return null;
    if (!Number.isSafeInteger(v.treeSize) || (v.treeSize as number) < 0) return null;
    if (typeof v.note !== "string" || typeof v.at !== "string") return null;
    return { treeSize: v.treeSize as number, at: v.at, note: v.note };
  } catch {
    return null;
  }
}
