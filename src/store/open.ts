/**
 * Opens a store from a spec: `sqlite:<path>`, a bare file path, `memory:`, or
 * `postgres://...`. Backends are loaded lazily so an unused driver is never imported.
 */
import { AitrailError } from "../errors.js";
import type { AuditStore } from "./types.js";

export type StorageSpec =
  | { type: "sqlite"; path: string }
  | { type: "memory" }
  | { type: "postgres"; connectionString: string; schema?: string };

export interface OpenStoreOptions {
  /** Fail instead of creating a new, empty store (verify, query, prove). */
  mustExist?: boolean;
}

export function parseStoreUrl(url: string): StorageSpec {
  if (url === "memory:" || url === ":memory:") return { type: "memory" };
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) return { type: "postgres", connectionString: url };
  if (url.startsWith("sqlite:")) {
    const p = url.slice("sqlite:".length).replace(/^\/\/(?=\/)/, "");
    if (!p) throw new AitrailError("INVALID_ARGUMENT", `--store ${url}: a sqlite store needs a path, e.g. sqlite:./aitrail.db`);
    return { type: "sqlite", path: p };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw new AitrailError("INVALID_ARGUMENT", `--store ${redactUrl(url)}: unsupported store; use sqlite:<path> or postgres://...`);
  }
  return { type: "sqlite", path: url };
}

/** Hides a password in a connection string. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, "//$1:***@");
}

export async function openStore(spec: StorageSpec | string, options: OpenStoreOptions = {}): Promise<AuditStore> {
  const s = typeof spec === "string" ? parseStoreUrl(spec) : spec;
  let store: AuditStore;
  switch (s.type) {
    case "sqlite": {
      const { SqliteStore } = await import("./sqlite/store.js");
      store = new SqliteStore({ path: s.path, mustExist: options.mustExist ?? false });
      break;
    }
    case "memory": {
      const { SqliteStore } = await import("./sqlite/store.js");
      store = new SqliteStore({ path: ":memory:" });
      break;
    }
    case "postgres": {
      const backend = "./postgres/index.js";
      const mod = (await import(backend).catch((err: unknown) => {
        throw new AitrailError("STORE_ERROR", "the PostgreSQL store is not available in this build", { cause: err });
      })) as { createPostgresStore: (spec: { connectionString: string; schema?: string }, options: OpenStoreOptions) => AuditStore };
      store = mod.createPostgresStore(s, options);
      break;
    }
  }
  await store.open();
  return store;
}
