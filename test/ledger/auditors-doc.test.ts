/**
 * The by-hand verification in docs/auditors.md, run as written against a real bundle: the
 * page's shell blocks must verify a good bundle and catch a changed record.
 */
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

const tools = ["bash", "jq", "sha256sum", "xxd", "base64", "awk", "openssl"];
const missing = tools.filter((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0);

function byHandScript(): string {
  const doc = fs.readFileSync(path.join(import.meta.dirname, "../../docs/auditors.md"), "utf8");
  const section = doc.slice(doc.indexOf("## Checking a bundle by hand"), doc.indexOf("## For the operator"));
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(blocks.length).toBe(4);
  return ["set -eu", ...blocks].join("\n");
}

let tmp: ReturnType<typeof tempDir>;
let bundle: Record<string, unknown>;
let pub: string;

beforeAll(async () => {
  tmp = tempDir("aitrail-byhand-");
  const db = path.join(tmp.dir, "a.db");
  expect((await runCli("demo", "--db", db, "--events", "300", "--seed", "11")).code).toBe(0);
  const events = JSON.parse((await runCli("query", "events", "--db", db, "--limit", "300", "--json")).out) as { eventId: string; seq: number }[];
  const id = events.find((e) => e.seq === 201)!.eventId;
  bundle = JSON.parse((await runCli("prove", id, "--db", db)).out) as Record<string, unknown>;
  pub = (await runCli("keys", "export-public", "--db", db)).out;
});
afterAll(() => tmp.cleanup());

function runByHand(b: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(tmp.dir, "auditor-"));
  fs.writeFileSync(path.join(dir, "bundle.json"), JSON.stringify(b));
  fs.writeFileSync(path.join(dir, "aitrail.pub"), pub);
  return execFileSync("bash", ["-c", byHandScript()], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

describe.skipIf(missing.length > 0)(`docs/auditors.md by-hand steps (needs ${tools.join(", ")})`, () => {
  it("verify a real bundle: computed root = signed root, key id matches, signature verifies", () => {
    const out = runByHand(bundle);
    const computed = /computed root: ([0-9a-f]{64})/.exec(out)![1];
    const lines = out.trim().split("\n");
    expect(lines).toContain(computed); // the signed root printed by step 3
    expect(lines).toContain(String(bundle.treeSize));
    const [keyId, recomputedId] = lines.find((l) => / = [0-9a-f]{8}$/.test(l))!.split(" = ");
    expect(keyId).toBe(recomputedId);
    expect(out).toContain("Signature Verified Successfully");
  });

  it("a changed record leads to a different root", () => {
    const changed = { ...bundle, record: (bundle.record as string).replace(/"latency":\d+/, '"latency":1') };
    const out = runByHand(changed);
    const computed = /computed root: ([0-9a-f]{64})/.exec(out)![1];
    expect(out.trim().split("\n")).not.toContain(computed);
  });
});
