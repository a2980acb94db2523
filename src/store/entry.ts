/**
 * Entries whose leaf hash and indexed columns are derived when first read.
 *
 * Both are functions of the canonical record (the leaf hash is its RFC 9162 hash, the columns
 * are what verify derives from it). The Recorder hands a store entries made here; a store
 * that appends on a thread of its own (SQLite's append thread) sends the record and its leaf
 * hash across and derives the columns on that thread, so the caller's event loop neither
 * builds nor copies them, and the columns written are, by construction, those of the record
 * written beside them. A store appending on the caller's thread reads them and pays once.
 *
 * Classes, not object literals with getters: V8 keeps such literals in dictionary mode, ten
 * times slower to build.
 */
import type { AuditEvent } from "../event/schema.js";
import { leafHash } from "../ledger/hash.js";
import { columnsOf } from "./columns.js";
import type { IndexedColumns, PreparedEntry, StoredEntry } from "./types.js";

class LazyEntry implements PreparedEntry {
  readonly eventId: string;
  readonly canonical: string;
  #event: AuditEvent | undefined;
  #leaf: Uint8Array | undefined;
  #columns: IndexedColumns | undefined;

  constructor(eventId: string, canonical: string, event: AuditEvent | undefined, leaf: Uint8Array | undefined) {
    this.eventId = eventId;
    this.canonical = canonical;
    this.#event = event;
    this.#leaf = leaf;
  }

  get leafHash(): Uint8Array {
    return (this.#leaf ??= leafHash(this.canonical));
  }

  get columns(): IndexedColumns {
    return (this.#columns ??= columnsOf((this.#event ??= JSON.parse(this.canonical) as AuditEvent)));
  }
}

class LazyStoredEntry implements StoredEntry {
  readonly eventId: string;
  readonly canonical: string;
  readonly leafHash: Uint8Array;
  readonly seq: number;
  readonly chainHash: Uint8Array;
  readonly #entry: PreparedEntry;

  constructor(entry: PreparedEntry, seq: number, chainHash: Uint8Array) {
    this.eventId = entry.eventId;
    this.canonical = entry.canonical;
    this.leafHash = entry.leafHash;
    this.seq = seq;
    this.chainHash = chainHash;
    this.#entry = entry;
  }

  get columns(): IndexedColumns {
    return this.#entry.columns;
  }
}

/** An entry for an event the caller holds (the Recorder): columns come from the event object. */
export function preparedEntry(event: AuditEvent, canonical: string): PreparedEntry {
  return new LazyEntry(event.eventId, canonical, event, undefined);
}

/** An entry for a record alone (the append thread's side): the record is parsed when the columns are read. */
export function entryFromRecord(eventId: string, canonical: string, knownLeaf?: Uint8Array): PreparedEntry {
  return new LazyEntry(eventId, canonical, undefined, knownLeaf);
}

/** The stored form of an entry, with the seq and chain hash the store gave it; its columns stay the entry's (and as lazy). */
export function storedEntry(entry: PreparedEntry, seq: number, chainHash: Uint8Array): StoredEntry {
  return new LazyStoredEntry(entry, seq, chainHash);
}
