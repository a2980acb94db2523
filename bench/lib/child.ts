/**
 * Each contender runs in a process of its own, so its CPU time and peak memory are its own.
 * A child prints whatever it likes on stderr and one JSON line last on stdout.
 */
import { spawn } from "node:child_process";
import path from "node:path";

export const BENCH_DIR = path.resolve(import.meta.dirname, "..");
export const ROOT = path.resolve(BENCH_DIR, "..");

export interface ChildResult<T> {
  ok: boolean;
  value: T | null;
  error: string | null;
  seconds: number;
}

/** Runs `node --import tsx <script> ...args`; resolves with its last stdout line parsed as JSON. */
export function runChild<T>(script: string, args: string[], options: { timeoutMs?: number; quiet?: boolean } = {}): Promise<ChildResult<T>> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.resolve(BENCH_DIR, script), ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, FORCE_COLOR: "0" },
    });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      err += d;
      if (!options.quiet) process.stderr.write(d.replace(/^/gm, "    "));
    });
    const timer = options.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), options.timeoutMs) : undefined;
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      const last = out.trim().split("\n").at(-1) ?? "";
      let value: T | null = null;
      try {
        value = JSON.parse(last) as T;
      } catch {
        value = null;
      }
      if (code === 0 && value !== null) resolve({ ok: true, value, error: null, seconds });
      else {
        const why = signal ? `killed by ${signal}` : `exit code ${code}`;
        const tail = (err.trim().split("\n").slice(-3).join(" | ") || last).slice(0, 400);
        resolve({ ok: false, value, error: `${why}: ${tail}`, seconds });
      }
    });
  });
}
