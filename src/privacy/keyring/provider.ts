/**
 * Master keys. A `KeyProvider` wraps and unwraps small secrets (subject keys, the index key)
 * under a master key it never hands out, so a KMS can stand in for the local implementation.
 *
 * The local provider takes its master key from `AITRAIL_MASTER_KEY` (32 bytes, base64 or hex)
 * or from `master.key` in the key directory, which is created on first use with mode 0600.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { AitrailError } from "../../errors.js";
import { KEY_BYTES, SealOpenError, hkdf, hmac, open, randomKey, seal, wipe } from "../crypto.js";

export interface KeyProvider {
  /** Names the master key (not secret, not derivable into it). Recorded beside every wrapped key. */
  readonly keyId: string;
  /** Encrypts a small secret; `context` is bound to the result and must be given again to unwrap. */
  wrap(secret: Uint8Array, context: Uint8Array): Promise<Uint8Array>;
  /** Rejects with WRONG_MASTER_KEY when the wrapped bytes were not made by this key with this context. */
  unwrap(wrapped: Uint8Array, context: Uint8Array): Promise<Uint8Array>;
}

export const MASTER_KEY_ENV = "AITRAIL_MASTER_KEY";
export const MASTER_KEY_FILE = "master.key";

/** A master key held in this process. */
export class LocalKeyProvider implements KeyProvider {
  readonly keyId: string;
  readonly #kek: Buffer;

  constructor(masterKey: Uint8Array) {
    if (masterKey.length !== KEY_BYTES) {
      throw new AitrailError("MALFORMED_KEY", `master key must be ${KEY_BYTES} bytes, got ${masterKey.length}`);
    }
    this.#kek = hkdf(masterKey, "aitrail/master/wrap/v1");
    this.keyId = `mk_${hmac(masterKey, "aitrail/master/key-id/v1").subarray(0, 8).toString("hex")}`;
  }

  wrap(secret: Uint8Array, context: Uint8Array): Promise<Uint8Array> {
    return Promise.resolve(seal(this.#kek, secret, context));
  }

  unwrap(wrapped: Uint8Array, context: Uint8Array): Promise<Uint8Array> {
    try {
      return Promise.resolve(open(this.#kek, wrapped, context));
    } catch (err) {
      return Promise.reject(
        err instanceof SealOpenError
          ? new AitrailError("WRONG_MASTER_KEY", `master key ${this.keyId} cannot unwrap this key: wrong master key or altered key record`)
          : err instanceof Error
            ? err
            : new Error(String(err)),
      );
    }
  }

  /** Forgets the key material held by this provider. */
  destroy(): void {
    wipe(this.#kek);
  }
}

/** Parses a 32-byte key written as 64 hex digits or as base64 / base64url. Never echoes the input. */
export function parseMasterKey(text: string, source: string): Buffer {
  const t = text.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(t)) key = Buffer.from(t, "hex");
  else if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(t)) key = Buffer.from(t.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  if (!key || key.length !== KEY_BYTES) {
    throw new AitrailError(
      "MALFORMED_KEY",
      `${source}: a master key must be ${KEY_BYTES} bytes written as 64 hex digits or 44 base64 characters`,
      { details: { source } },
    );
  }
  return key;
}

export interface LocalKeyOptions {
  /** Directory holding `master.key`; used when the environment variable is not set. */
  keyDir?: string;
  /** Environment to read `AITRAIL_MASTER_KEY` from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Create `master.key` when it does not exist (default true). */
  create?: boolean;
}

/** Loads the local master key: the environment variable first, then the key file (created on first use). */
export function loadLocalKeyProvider(options: LocalKeyOptions = {}): LocalKeyProvider {
  const env = options.env ?? process.env;
  const fromEnv = env[MASTER_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== "") {
    const key = parseMasterKey(fromEnv, MASTER_KEY_ENV);
    try {
      return new LocalKeyProvider(key);
    } finally {
      wipe(key);
    }
  }
  if (!options.keyDir) {
    throw new AitrailError(
      "KEY_ERROR",
      `no master key: set ${MASTER_KEY_ENV} or give a key directory holding ${MASTER_KEY_FILE}`,
      { details: { env: MASTER_KEY_ENV } },
    );
  }
  const file = join(options.keyDir, MASTER_KEY_FILE);
  const key = existsSync(file) ? readKeyFile(file) : options.create === false ? missing(file) : createKeyFile(options.keyDir, file);
  try {
    return new LocalKeyProvider(key);
  } finally {
    wipe(key);
  }
}

/** A provider from one key file; `create` makes the file (mode 0600) when it does not exist. */
export function loadKeyFile(file: string, create: boolean): LocalKeyProvider {
  const key = existsSync(file) ? readKeyFile(file) : create ? createKeyFile(dirname(file), file) : missing(file);
  try {
    return new LocalKeyProvider(key);
  } finally {
    wipe(key);
  }
}

function missing(file: string): never {
  throw new AitrailError("KEY_ERROR", `master key file ${file} does not exist`, { details: { file } });
}

function readKeyFile(file: string): Buffer {
  const mode = statSync(file).mode & 0o777;
  if (process.platform !== "win32" && (mode & 0o077) !== 0) {
    throw new AitrailError(
      "KEY_ERROR",
      `master key file ${file} is readable by group or others (mode ${mode.toString(8)}); run chmod 600 on it`,
      { details: { file, mode: mode.toString(8) } },
    );
  }
  return parseMasterKey(readFileSync(file, "utf8"), file);
}

function createKeyFile(dir: string, file: string): Buffer {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = randomKey();
  let fd: number;
  try {
    // "wx": fail if another process created it first; then read theirs.
    fd = openSync(file, "wx", 0o600);
  } catch (err) {
    wipe(key);
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return readKeyFile(file);
    throw new AitrailError("KEY_ERROR", `cannot create master key file ${file}`, { cause: err, details: { file } });
  }
  try {
    writeSync(fd, `${key.toString("base64")}\n`);
  } finally {
    closeSync(fd);
  }
  chmodSync(file, 0o600);
  return key;
}
