import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { startProviderServer, type ProviderServer } from "../../src/provider-server/index.js";
import type { AuditEvent } from "../../src/event/schema.js";
import { Recorder } from "../../src/pipeline/recorder.js";
import { openStore } from "../../src/store/open.js";
import type { AuditStore } from "../../src/store/types.js";

export const KEY = "sk-test-abcdefghijklmnop0123";

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "aitrail-client-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Reads a stored event back from a SQLite file, as stored (canonical JSON). */
export async function readEvent(path: string, eventId: string): Promise<AuditEvent | null> {
  const store = await openStore({ type: "sqlite", path }, { mustExist: true });
  try {
    const entry = await store.getByEventId(eventId);
    return entry ? (JSON.parse(entry.canonical) as AuditEvent) : null;
  } finally {
    await store.close();
  }
}

export async function countEvents(path: string): Promise<number> {
  const store = await openStore({ type: "sqlite", path }, { mustExist: true });
  try {
    return (await store.head()).size;
  } finally {
    await store.close();
  }
}

/**
 * A real SQLite store whose writes can be made to fail, as a full disk or a lost volume
 * would make them fail.
 */
export interface BreakableStore {
  store: AuditStore;
  failing: boolean;
  attempts: number;
  close(): Promise<void>;
}

export async function breakableStore(path: string): Promise<BreakableStore> {
  const real = await openStore({ type: "sqlite", path });
  const state: BreakableStore = {
    failing: false,
    attempts: 0,
    store: undefined as unknown as AuditStore,
    close: () => real.close(),
  };
  state.store = new Proxy(real, {
    get(target, key, receiver) {
      if (key === "append") {
        return async (...args: Parameters<AuditStore["append"]>) => {
          state.attempts++;
          if (state.failing) throw new Error("SQLITE_FULL: database or disk is full");
          return target.append(...args);
        };
      }
      const value = Reflect.get(target, key, receiver) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return state;
}

export function recorderOn(store: AuditStore, level: "minimal" | "standard" | "detailed" = "detailed"): Recorder {
  return new Recorder({ store, level });
}

/**
 * Starts the local test provider (requiring KEY) and a temp dir before the file's tests, and
 * stops and removes them after; `use` hands both to the file.
 */
export function withLocalProvider(use: (server: ProviderServer, tmp: { dir: string; cleanup: () => void }) => void): void {
  let server: ProviderServer | undefined;
  let tmp: { dir: string; cleanup: () => void } | undefined;
  beforeAll(async () => {
    server = await startProviderServer({ apiKey: KEY });
    tmp = tempDir();
    use(server, tmp);
  });
  afterAll(async () => {
    await server?.close();
    tmp?.cleanup();
  });
}
