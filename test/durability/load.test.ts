/**
 * `aitrail load` drives the real Recorder into a real store: what it reports is what the
 * ledger holds, and the ledger verifies.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir("aitrail-load-");
});
afterAll(() => tmp.cleanup());

describe("aitrail load", () => {
  it("records N events through the Recorder and reports throughput, commit latency, CPU and memory", async () => {
    const db = path.join(tmp.dir, "load.db");
    const r = await runCli("load", "--db", db, "--events", "3000", "--concurrency", "200", "--json");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as Record<string, unknown> & {
      latencyMs: { p50: number; p99: number; max: number };
      cpu: { userSeconds: number; systemSeconds: number };
      eventLoop: { utilization: number; busyMicrosPerEvent: number };
      memory: unknown[];
    };
    expect(report).toMatchObject({ store: `sqlite:${db}`, events: 3000, concurrency: 200 });
    expect(report.eventsPerSecond).toBeGreaterThan(0);
    expect(report.latencyMs.p50).toBeGreaterThan(0);
    expect(report.latencyMs.p99).toBeGreaterThanOrEqual(report.latencyMs.p50);
    expect(report.latencyMs.max).toBeGreaterThanOrEqual(report.latencyMs.p99);
    // 3000 events, at most 200 in flight: they shared transactions, but needed at least 15.
    expect(report.batches).toBeGreaterThanOrEqual(15);
    expect(report.batches).toBeLessThan(3000);
    expect(report.cpu.userSeconds + report.cpu.systemSeconds).toBeGreaterThan(0);
    expect(report.peakRssMb).toBeGreaterThan(0);
    expect(report.eventLoop.utilization).toBeGreaterThan(0);
    expect(report.eventLoop.utilization).toBeLessThanOrEqual(1);
    expect(report.eventLoop.busyMicrosPerEvent).toBeGreaterThan(0);
    expect(report.memory.length).toBeGreaterThanOrEqual(2);

    const v = await runCli("verify", "--db", db, "--json", "--no-witness");
    expect(JSON.parse(v.out)).toMatchObject({ ok: true, events: 3000 });

    // A second run continues the same ledger.
    const again = await runCli("load", "--db", db, "--events", "500");
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/events\s+500\n/);
    expect(again.out).toMatch(/commit latency p99\s+[\d.]+ ms/);
    expect(again.out).toMatch(/event loop busy\s+\d+% \([\d.]+ µs per event\)/);
    const v2 = await runCli("verify", "--db", db, "--json", "--no-witness");
    expect(JSON.parse(v2.out)).toMatchObject({ ok: true, events: 3500 });
  });

  it("a duration ends the run early; bad numbers are usage errors naming the option", async () => {
    const db = path.join(tmp.dir, "timed.db");
    const r = await runCli("load", "--db", db, "--events", "100000000", "--duration", "1", "--json");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { events: number };
    expect(report.events).toBeGreaterThan(0);
    expect(report.events).toBeLessThan(100000000);
    const v = await runCli("verify", "--db", db, "--json", "--no-witness");
    expect(JSON.parse(v.out)).toMatchObject({ ok: true, events: report.events });

    const bad = await runCli("load", "--db", db, "--events", "-5");
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("--events");
    const badC = await runCli("load", "--db", db, "--concurrency", "0");
    expect(badC.code).toBe(2);
    expect(badC.err).toContain("--concurrency");
  });
});
