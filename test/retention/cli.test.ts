/**
 * `aitrail retention ...` and `aitrail verify --archive` end to end on a real SQLite file
 * (and a PostgreSQL ledger): policy, holds, dry run, run with a signed checkpoint, then the
 * full ledger verify (chain, Merkle root, checkpoints, witness) from the anchor.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Recorder } from "../../src/pipeline/recorder.js";
import { openStore } from "../../src/store/open.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { describePg, dropSchemas, newSchema, urlFor } from "../store/pg.js";

const DAY = 86_400_000;

/** 40 events two years ago (users u-0..u-3), then 10 from yesterday. */
async function seed(url: string): Promise<void> {
  const store = await openStore(url);
  let clock = new Date(Date.now() - 730 * DAY);
  const recorder = new Recorder({ store, clock: () => clock });
  for (let i = 0; i < 40; i++) {
    clock = new Date(clock.getTime() + 60_000);
    await recorder.record({ type: "ai.generate", userId: `u-${i % 4}`, purpose: i % 2 ? "marketing" : "support", provider: "openai", status: "success", cost: 0.01 });
  }
  clock = new Date(Date.now() - DAY);
  for (let i = 0; i < 10; i++) await recorder.record({ type: "ai.generate", userId: "u-new", purpose: "support", provider: "openai", status: "success" });
  await recorder.close();
  await store.close();
}

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe("aitrail retention on SQLite", () => {
  it("policy, hold, dry run, run, verify from the anchor, verify the archive with the public key", async () => {
    const db = path.join(tmp.dir, "ret.db");
    const archive = path.join(tmp.dir, "cold");
    await seed(`sqlite:${db}`);
    const cli = (...args: string[]) => runCli(...args, "--db", db);

    expect(await cli("retention", "run")).toMatchObject({ code: 2, err: expect.stringContaining("INVALID_CONFIG") as unknown });
    expect((await cli("retention", "policy")).out).toContain("no retention policy set");
    const bad = await cli("retention", "policy", "--framework", "HIPAA", "--override", "HIPAA=5y");
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("shorter than the HIPAA minimum");
    const set = await cli("retention", "policy", "--framework", "SOC2", "--gdpr-purpose", "marketing=30d");
    expect(set.code).toBe(0);
    expect(set.out).toContain("SOC2");
    expect(set.out).toContain('GDPR purpose "marketing": 30d');
    expect(JSON.parse((await cli("retention", "policy", "--json")).out)).toEqual({ frameworks: ["SOC2"], gdprPurposes: { marketing: "30d" } });

    const hold = JSON.parse((await cli("retention", "hold", "add", "--user", "u-2", "--reason", "case 7", "--json")).out) as { id: string };
    expect((await cli("retention", "hold", "add", "--user", "u-2", "--patient", "p", "--reason", "x")).code).toBe(2);
    expect((await cli("retention", "hold", "list")).out).toContain(hold.id);
    const held = JSON.parse((await cli("retention", "run", "--dry-run", "--archive-dir", archive, "--json")).out) as { count: number; stoppedAt: { reason: string } };
    expect(held).toMatchObject({ count: 2, stoppedAt: { reason: "legal-hold" } });
    expect(fs.existsSync(archive)).toBe(false);
    expect((await cli("retention", "hold", "release", hold.id)).code).toBe(0);

    const dry = await cli("retention", "run", "--dry-run", "--archive-dir", archive);
    expect(dry.out).toMatch(/would purge 40 events, seq 0\.\.39/);
    expect(dry.out).toContain("40 released by SOC2 365d");
    const run = await cli("retention", "run", "--archive-dir", archive, "--json");
    expect(run.code).toBe(0);
    const report = JSON.parse(run.out) as { count: number; deleted: number; archive: { checkpoint: string } };
    expect(report).toMatchObject({ count: 40, deleted: 40, archive: { checkpoint: "proof-only" } });

    // The live ledger: chain, Merkle root from the anchor, the signed checkpoints, the witness.
    const verify = await cli("verify", "--json");
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.out)).toMatchObject({ ok: true });
    // The archive on its own, with the ledger's public key.
    const pub = path.join(tmp.dir, ".aitrail", "ledger.pub");
    expect(fs.existsSync(pub)).toBe(true);
    const archived = await runCli("verify", "--archive", archive, "--public-key", pub);
    expect(archived.code).toBe(0);
    expect(archived.out).toMatch(/OK: 1 archive\(s\), 40 events \(seq 0\.\.39\)/);
    expect(archived.out).toContain("signatures checked");
    // Nothing is due any more; the purge is in the trail.
    expect((await cli("retention", "run", "--archive-dir", archive)).out).toMatch(/nothing to purge \(ledger starts at seq 40\)/);
    const purges = JSON.parse((await cli("query", "events", "--type", "retention.purged", "--json")).out) as unknown[];
    expect(purges).toHaveLength(1);
    expect((await runCli("verify", "--archive", path.join(tmp.dir, "nowhere"))).code).toBe(2);
  });
});

describePg("aitrail retention on PostgreSQL", () => {
  afterAll(dropSchemas);
  it("runs, and the ledger and the archive verify", async () => {
    const url = urlFor(newSchema("retcli"));
    const archive = path.join(tmp.dir, "pg-cold");
    const keys = path.join(tmp.dir, "pg-keys");
    await seed(url);
    expect((await runCli("retention", "policy", "--store", url, "--framework", "EU_AI_ACT")).code).toBe(0);
    const run = await runCli("retention", "run", "--store", url, "--keys", keys, "--archive-dir", archive, "--json");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out)).toMatchObject({ count: 40, deleted: 40 });
    const verify = await runCli("verify", "--store", url, "--keys", keys, "--json");
    expect(JSON.parse(verify.out)).toMatchObject({ ok: true });
    expect((await runCli("verify", "--archive", archive, "--public-key", path.join(keys, "ledger.pub"))).code).toBe(0);
  });
});
