/** What the figures were measured on. */
import fs from "node:fs";
import os from "node:os";
import Database from "better-sqlite3";

export interface Machine {
  cpus: number;
  model: string;
  memoryGb: number;
  node: string;
  sqlite: string;
  platform: string;
  loadAverage: number[];
}

export function machine(): Machine {
  let model = os.cpus()[0]?.model ?? "unknown";
  try {
    const m = /model name\s*:\s*(.+)/.exec(fs.readFileSync("/proc/cpuinfo", "utf8"));
    if (m) model = m[1]!.trim();
  } catch {
    // Not Linux: os.cpus() has it.
  }
  const db = new Database(":memory:");
  const sqlite = db.prepare("SELECT sqlite_version()").pluck().get() as string;
  db.close();
  return {
    cpus: os.availableParallelism(),
    model,
    memoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    sqlite,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}
