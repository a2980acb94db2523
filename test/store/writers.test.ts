/**
 * Several processes, one ledger: concurrent writer processes append to the same PostgreSQL
 * schema and the same SQLite file; every seq is handed out once, contiguously, and the
 * ledger verifies.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/store/open.js";
import { verifyStore } from "../../src/store/verify.js";
import { tempDir } from "../helpers/tmp.js";
import { describePg, dropSchemas, newSchema, urlFor } from "./pg.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const WRITER = path.join(here, "fixtures", "writer.ts");
const WRITERS = 4;
const EACH = 400;

interface Writer {
  ready: Promise<void>;
  done: Promise<string>;
  go(): void;
}

function startWriter(url: string, tag: string): Writer {
  const child = spawn(process.execPath, ["--import", "tsx", WRITER, url, String(EACH), tag], { cwd: root, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
    if (out.startsWith("ready\n")) onReady();
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const done = new Promise<string>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(out.slice("ready\n".length)) : reject(new Error(`${tag} exited ${code}: ${err}`))));
  });
  // A writer that dies before it is ready must not leave the test waiting.
  void done.catch(() => onReady());
  return { ready, done, go: () => child.stdin.end("go\n") };
}

async function writeConcurrently(url: string): Promise<void> {
  const writers = Array.from({ length: WRITERS }, (_, w) => startWriter(url, `writer-${w}`));
  await Promise.all(writers.map((w) => w.ready));
  for (const w of writers) w.go();
  const outs = await Promise.all(writers.map((w) => w.done));
  const all: number[] = [];
  for (const o of outs) {
    const { tag, seqs } = JSON.parse(o.trim()) as { tag: string; seqs: number[] };
    expect(seqs.length, tag).toBe(EACH);
    all.push(...seqs);
  }
  // Every seq handed out exactly once, contiguously from 0.
  expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: WRITERS * EACH }, (_, i) => i));
  const store = await openStore(url, { mustExist: true });
  try {
    expect(await verifyStore(store)).toMatchObject({ ok: true, events: WRITERS * EACH });
    const head = await store.head();
    expect(head.size).toBe(WRITERS * EACH);
    // The writers really interleaved: no writer's events form a single run.
    const users: string[] = [];
    for await (const e of store.scan()) users.push(e.columns.user_id!);
    const switches = users.filter((u, i) => i > 0 && u !== users[i - 1]).length;
    expect(switches).toBeGreaterThan(WRITERS);
  } finally {
    await store.close();
  }
}

describe("several writer processes on one SQLite file", () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());
  it(`${WRITERS} processes x ${EACH} events: contiguous seq, one valid chain`, async () => {
    await writeConcurrently(`sqlite:${path.join(tmp.dir, "shared.db")}`);
  }, 180_000);
});

describePg("several writer processes on one PostgreSQL ledger", () => {
  afterAll(dropSchemas);
  it(`${WRITERS} processes x ${EACH} events: contiguous seq, one valid chain`, async () => {
    const url = urlFor(newSchema("writers"));
    // Create the ledger first so the writers race on appends, not only on migrations.
    await (await openStore(url)).close();
    await writeConcurrently(url);
  }, 180_000);

  it("writers racing to create the same new ledger all succeed with one schema", async () => {
    await writeConcurrently(urlFor(newSchema("race")));
  }, 180_000);
});
