/**
 * Where a ledger's key directory and witness file are, from command-line style options:
 * beside the database file by default, anywhere when given.
 */
import { resolve } from "node:path";
import { defaultKeyDir } from "./keys.js";
import { defaultWitnessFile } from "./witness.js";

export interface LedgerPathOptions {
  /** The SQLite database file; null for stores without one (PostgreSQL, memory). */
  dbPath: string | null;
  /** `--keys <dir>`. */
  keys?: string;
  /** `--witness <file>`, or false for `--no-witness`. */
  witness?: string | boolean;
}

export interface LedgerPaths {
  keyDir: string;
  /** Null when there is no witness file (disabled, or no database file to sit beside). */
  witnessFile: string | null;
}

export function ledgerPaths(options: LedgerPathOptions): LedgerPaths {
  const keyDir = options.keys ? resolve(options.keys) : options.dbPath && options.dbPath !== ":memory:" ? defaultKeyDir(options.dbPath) : resolve(".aitrail");
  let witnessFile: string | null = null;
  if (typeof options.witness === "string") witnessFile = resolve(options.witness);
  else if (options.witness !== false && options.dbPath && options.dbPath !== ":memory:") witnessFile = defaultWitnessFile(options.dbPath);
  return { keyDir, witnessFile };
}
