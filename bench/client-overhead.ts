/**
 * Audit overhead per call: AITrail.generate() against plain generateText() on the same local
 * provider, same run, same AI SDK client, 200 concurrent calls per round.
 *
 *   npx tsx bench/client-overhead.ts [--calls 200] [--rounds 8] [--sequential 200] [--memory]
 *
 * --memory puts the trails on in-memory SQLite (no fsync), to separate the disk from the rest.
 *
 * The local provider runs in a child process (as a remote provider would). Modes: baseline
 * (generateText), unaudited (the trail with auditLog.enabled false: the floor), open
 * (failMode "open", SQLite file), closed (failMode "closed": each call waits for its event's
 * durable commit). Rounds are interleaved so drift hits every mode alike.
 *
 * Two views of the cost:
 *  - added latency per call: the call's wall time at the caller minus the time it spent in
 *    the provider request (published on the aitrail:client:call diagnostics channel). This is
 *    what auditing adds to that call: validation, pricing, the event, and in closed mode the
 *    wait for the group commit.
 *  - end to end: per-call latency p50/p99 of each mode and CPU per call. At 200 calls in
 *    flight in one process these are dominated by queueing for the CPU, so they show
 *    throughput cost rather than per-call latency.
 * Prints a table and a JSON line.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { spawn } from "node:child_process";
import { subscribe } from "node:diagnostics_channel";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createOpenAI } from "@ai-sdk/openai";
import { generateText } from "ai";
import { AITrail, CALL_CHANNEL, type CallTiming } from "../src/client/index.js";

/** Starts the local provider in its own process; resolves with its base URL. */
function startProviderProcess(): Promise<{ baseURL: string; stop: () => void }> {
  const code = `import { startProviderServer } from "./src/provider-server/index.ts"; const s = await startProviderServer(); console.log(s.baseURL);`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  // The provider process never outlives the bench, however the bench ends.
  const kill = (): void => {
    child.kill("SIGTERM");
  };
  process.once("exit", kill);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      kill();
      process.exit(130);
    });
  }
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.stdout.once("data", (d: Buffer) => resolve({ baseURL: d.toString().trim(), stop: () => child.kill("SIGTERM") }));
  });
}

const args = process.argv.slice(2);
const arg = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const CALLS = arg("--calls", 200);
const ROUNDS = arg("--rounds", 8);
const SEQUENTIAL = arg("--sequential", 200);
const MEMORY = args.includes("--memory");

type Mode = "baseline" | "unaudited" | "open" | "closed";
const MODES: Mode[] = ["baseline", "unaudited", "open", "closed"];

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "aitrail-bench-client-"));
  const server = await startProviderProcess();
  const apiKey = "sk-bench-local";
  const model = createOpenAI({ apiKey, baseURL: server.baseURL }).chat("gpt-4o");
  const providers = [{ name: "openai", config: { apiKey, baseURL: server.baseURL } }];
  const trails: Record<Exclude<Mode, "baseline">, AITrail> = {
    // The trail's own path with auditing switched off: the floor the audited modes compare to.
    unaudited: new AITrail({ providers, auditLog: { enabled: false } }),
    open: new AITrail({ providers, auditLog: { storage: MEMORY ? { type: "memory" } : { type: "sqlite", path: join(dir, "open.db") } }, failMode: "open" }),
    closed: new AITrail({ providers, auditLog: { storage: MEMORY ? { type: "memory" } : { type: "sqlite", path: join(dir, "closed.db") } }, failMode: "closed" }),
  };
  const context = { userId: "user-12345", sessionId: "sess-abc-789", action: "customer-feedback-analysis", purpose: "Business intelligence", ip: "192.168.1.100" };
  const prompt = (i: number): string => `Analyze customer feedback batch ${i}`;

  // Subscribers run in the publishing call's async context: the call's slot receives its timing.
  const slot = new AsyncLocalStorage<{ providerMs?: number }>();
  subscribe(CALL_CHANNEL, (m) => {
    const s = slot.getStore();
    if (s) s.providerMs = (m as CallTiming).providerMs;
  });
  const added: Record<Mode, number[]> = { baseline: [], unaudited: [], open: [], closed: [] };
  let recordAdded = false;

  const one = async (mode: Mode, i: number): Promise<number> => {
    const t0 = performance.now();
    if (mode === "baseline") {
      await generateText({ model, prompt: prompt(i), maxRetries: 0 });
      return performance.now() - t0;
    }
    const timing: { providerMs?: number } = {};
    await slot.run(timing, () => trails[mode].generate({ input: { text: prompt(i) }, model: "gpt-4o", auditContext: context, maxRetries: 0 }));
    const wall = performance.now() - t0;
    if (recordAdded && timing.providerMs !== undefined) added[mode].push(wall - timing.providerMs);
    return wall;
  };

  // Warm-up: module code paths, connections, the SQLite files.
  for (const mode of MODES) await Promise.all(Array.from({ length: 50 }, (_, i) => one(mode, i)));

  recordAdded = true;
  const latencies: Record<Mode, number[]> = { baseline: [], unaudited: [], open: [], closed: [] };
  const cpu: Record<Mode, number> = { baseline: 0, unaudited: 0, open: 0, closed: 0 };
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of MODES) {
      const c0 = process.cpuUsage();
      const lat = await Promise.all(Array.from({ length: CALLS }, (_, i) => one(mode, r * CALLS + i)));
      const c = process.cpuUsage(c0);
      cpu[mode] += (c.user + c.system) / 1000;
      latencies[mode].push(...lat);
      if (mode !== "baseline") await trails[mode].flush();
    }
  }

  const concurrentAdded = { unaudited: [...added.unaudited], open: [...added.open], closed: [...added.closed] };
  added.unaudited = [];
  added.open = [];
  added.closed = [];
  const sequential: Record<Mode, number[]> = { baseline: [], unaudited: [], open: [], closed: [] };
  for (let i = 0; i < SEQUENTIAL; i++) for (const mode of MODES) sequential[mode].push(await one(mode, i));
  const sequentialAdded = { unaudited: added.unaudited, open: added.open, closed: added.closed };

  const stats = (values: number[]) => {
    const s = [...values].sort((a, b) => a - b);
    return { p50: percentile(s, 50), p99: percentile(s, 99) };
  };
  const base = stats(latencies.baseline);
  const seqBase = stats(sequential.baseline);
  const overhead = (["unaudited", "open", "closed"] as const).map((mode) => {
    const c = stats(concurrentAdded[mode]);
    const q = stats(sequentialAdded[mode]);
    return { mode, concurrentP50: round3(c.p50), concurrentP99: round3(c.p99), sequentialP50: round3(q.p50), sequentialP99: round3(q.p99), samples: concurrentAdded[mode].length };
  });
  const rows = MODES.map((mode) => {
    const s = stats(latencies[mode]);
    const q = stats(sequential[mode]);
    return {
      mode,
      calls: latencies[mode].length,
      p50: round3(s.p50),
      p99: round3(s.p99),
      addedP50: round3(s.p50 - base.p50),
      addedP99: round3(s.p99 - base.p99),
      cpuMsPerCall: round3(cpu[mode] / latencies[mode].length),
      addedCpuMsPerCall: round3((cpu[mode] - cpu.baseline) / latencies[mode].length),
      seqP50: round3(q.p50),
      seqP99: round3(q.p99),
      seqAddedP50: round3(q.p50 - seqBase.p50),
      seqAddedP99: round3(q.p99 - seqBase.p99),
    };
  });

  console.log(`added latency per call (wall time at the caller minus time in the provider request), ms`);
  console.log("mode     200-concurrent p50  p99   | sequential p50  p99");
  for (const o of overhead) {
    console.log(`${o.mode.padEnd(8)} ${o.concurrentP50.toFixed(3).padStart(12)} ${o.concurrentP99.toFixed(3).padStart(8)} | ${o.sequentialP50.toFixed(3).padStart(12)} ${o.sequentialP99.toFixed(3).padStart(8)}`);
  }
  console.log("");
  console.log(`end to end: ${ROUNDS} rounds x ${CALLS} concurrent calls per mode, then ${SEQUENTIAL} sequential calls per mode (ms)`);
  console.log("mode      p50      p99      +p50     +p99     cpu/call +cpu/call | seq p50  seq p99  +seq p50 +seq p99");
  for (const r of rows) {
    const f = (x: number): string => x.toFixed(3).padStart(8);
    console.log(`${r.mode.padEnd(8)} ${f(r.p50)} ${f(r.p99)} ${f(r.addedP50)} ${f(r.addedP99)} ${f(r.cpuMsPerCall)} ${f(r.addedCpuMsPerCall)} | ${f(r.seqP50)} ${f(r.seqP99)} ${f(r.seqAddedP50)} ${f(r.seqAddedP99)}`);
  }
  console.log(JSON.stringify({ bench: "client-overhead", calls: CALLS, rounds: ROUNDS, sequential: SEQUENTIAL, addedLatency: overhead, endToEnd: rows }));

  await trails.unaudited.close();
  await trails.open.close();
  await trails.closed.close();
  server.stop();
  rmSync(dir, { recursive: true, force: true });
}

await main();
