/**
 * The load generator: drives synthetic AI-call events through the real Recorder into a real
 * store (no AI calls) and measures what a user sizing a store needs: throughput, the time
 * from record() to durable commit (p50/p99), CPU and memory.
 *
 * C workers each record an event and await its commit before the next, so C events are in
 * flight at once, as C concurrent AI calls would be. Events come from the seeded demo
 * workload: a pool of distinct calls is built once and cycled, so generating load costs
 * next to nothing and memory stays flat however long the run.
 */
import { syntheticEvent, workload } from "../demo/workload.js";
import type { AuditEventInput } from "../event/schema.js";
import { Recorder, type RecorderOptions } from "../pipeline/recorder.js";
import type { AuditStore } from "../store/types.js";
import { LatencyHistogram } from "./histogram.js";

export interface LoadOptions {
  store: AuditStore;
  /** Events to record (the most, when durationSeconds is set). */
  events: number;
  /** Stop after this many seconds even if fewer events were recorded. */
  durationSeconds?: number;
  /** Events in flight at once. */
  concurrency?: number;
  seed?: number | string;
  /** Recorder settings (batch size, queue bound, level). */
  recorder?: Omit<RecorderOptions, "store">;
  onProgress?: (done: number) => void;
  /** How often memory is sampled, in milliseconds. */
  sampleEveryMs?: number;
}

export interface MemorySample {
  /** Seconds since the start of the run. */
  at: number;
  events: number;
  rssMb: number;
  heapUsedMb: number;
}

export interface LoadResult {
  store: string;
  events: number;
  concurrency: number;
  seconds: number;
  eventsPerSecond: number;
  /** From record() to its durable commit. */
  latencyMs: { p50: number; p99: number; max: number; mean: number };
  /** Transactions (group commits) used. */
  batches: number;
  cpu: { userSeconds: number; systemSeconds: number; /** CPU seconds per wall second (2 = two cores busy). */ cores: number };
  /**
   * The caller's thread: the share of the run its event loop was busy (0 to 1), and its busy
   * time per event. Near 1, preparing events is the limit; well below, the store is.
   */
  eventLoop: { utilization: number; busyMicrosPerEvent: number };
  peakRssMb: number;
  memory: MemorySample[];
}

const POOL = 4096;

/** A pool of distinct, realistic events from the seeded workload. */
export function eventPool(size: number, seed: number | string = 1): AuditEventInput[] {
  const pool: AuditEventInput[] = [];
  for (const call of workload(Math.max(1, size), seed)) {
    pool.push(syntheticEvent(call, 150 + call.outputTokens * 4 + (call.inputTokens % 97)));
  }
  return pool;
}

const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const total = options.events;
  const concurrency = Math.max(1, Math.min(options.concurrency ?? 512, total));
  const pool = eventPool(Math.min(total, POOL), options.seed ?? 1);
  const recorder = new Recorder({ ...options.recorder, store: options.store });
  const histogram = new LatencyHistogram();
  const deadline = options.durationSeconds === undefined ? Infinity : performance.now() + options.durationSeconds * 1000;
  const memory: MemorySample[] = [];
  let issued = 0;
  let done = 0;
  const state: { failure: Error | null } = { failure: null };

  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const start = performance.now();
  const sample = () => {
    const m = process.memoryUsage();
    memory.push({ at: Math.round((performance.now() - start) / 100) / 10, events: done, rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed) });
  };
  sample();
  const sampler = setInterval(sample, options.sampleEveryMs ?? 1000);

  const worker = async (): Promise<void> => {
    while (state.failure === null && issued < total && performance.now() < deadline) {
      const input = pool[issued % pool.length]!;
      issued += 1;
      const t0 = performance.now();
      try {
        await recorder.record(input);
      } catch (err) {
        state.failure ??= err instanceof Error ? err : new Error(String(err));
        return;
      }
      histogram.add(performance.now() - t0);
      done += 1;
      options.onProgress?.(done);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
    await recorder.close();
  } finally {
    clearInterval(sampler);
  }
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  sample();
  if (state.failure !== null) throw state.failure;

  const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;
  return {
    store: options.store.location,
    events: done,
    concurrency,
    seconds: round(seconds),
    eventsPerSecond: Math.round(done / Math.max(seconds, 1e-9)),
    latencyMs: {
      p50: round(histogram.quantile(0.5)),
      p99: round(histogram.quantile(0.99)),
      max: round(histogram.max),
      mean: round(histogram.mean),
    },
    batches: recorder.stats().batches,
    cpu: {
      userSeconds: round(cpu.user / 1e6),
      systemSeconds: round(cpu.system / 1e6),
      cores: round((cpu.user + cpu.system) / 1e6 / Math.max(seconds, 1e-9), 2),
    },
    eventLoop: { utilization: round(elu.utilization, 2), busyMicrosPerEvent: round((elu.active * 1000) / Math.max(done, 1), 1) },
    peakRssMb: mb(process.resourceUsage().maxRSS * 1024),
    memory,
  };
}
