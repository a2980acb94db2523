/**
 * The checkpoint signing key directory (default `.aitrail/` beside the database).
 *
 *   ledger.key   the current signing key, `PRIVATE+KEY+<name>+<id>+<base64>` (mode 0600)
 *   ledger.pub   the current verifier key (mode 0600)
 *   verifiers    every verifier key this directory ever signed with, oldest first, one per
 *                line (mode 0600); rotation appends, so old checkpoints keep verifying
 *
 * The key is created on first use. Rotation replaces the private key (the old one is
 * gone; its public half stays in `verifiers`). Errors name files, never their contents.
 */
import { randomBytes } from "node:crypto";
import { chmod, link, mkdir, open, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { AitrailError, errorMessage } from "../errors.js";
import { formatSignerKey, parseSignerKey, parseVerifierKey, type NoteSigner, type VerifierKey } from "./note.js";

export const SIGNING_KEY_FILE = "ledger.key";
export const PUBLIC_KEY_FILE = "ledger.pub";
export const VERIFIERS_FILE = "verifiers";

/** `.aitrail/` in the directory of the database file. */
export function defaultKeyDir(dbPath: string): string {
  return join(dirname(resolve(dbPath)), ".aitrail");
}

function keyError(message: string, cause?: unknown): AitrailError {
  return new AitrailError("KEY_ERROR", message, cause === undefined ? {} : { cause });
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === code;
}

async function writePrivate(path: string, content: string): Promise<void> {
  await writeFile(path, content, { mode: 0o600, flag: "wx" });
  await chmod(path, 0o600);
}

function tempName(path: string): string {
  return `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
}

export class KeyDirectory {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  private path(file: string): string {
    return join(this.dir, file);
  }

  /** The current signer, or null when the directory has no key yet. */
  async load(): Promise<NoteSigner | null> {
    const file = this.path(SIGNING_KEY_FILE);
    let text: string;
    try {
      const st = await stat(file);
      if (process.platform !== "win32" && (st.mode & 0o077) !== 0) {
        throw keyError(`${file} is readable by other users; run: chmod 600 ${file}`);
      }
      text = await readFile(file, "utf8");
    } catch (err) {
      if (isCode(err, "ENOENT")) return null;
      if (AitrailError.isInstance(err)) throw err;
      throw keyError(`cannot read the signing key ${file}: ${errorMessage(err)}`, err);
    }
    try {
      return parseSignerKey(text);
    } catch (err) {
      // parseSignerKey's messages never repeat the key.
      throw keyError(`the signing key file ${file} is unusable: ${errorMessage(err)}`);
    }
  }

  /** The current signer; on first use creates one named `name` (the ledger origin). */
  async signer(name: string): Promise<NoteSigner> {
    const existing = await this.load();
    if (existing) return existing;
    await this.ensureDir();
    const seed = new Uint8Array(randomBytes(32));
    const keyText = formatSignerKey(name, seed) + "\n";
    const signer = parseSignerKey(keyText);
    const final = this.path(SIGNING_KEY_FILE);
    const tmp = tempName(final);
    await writePrivate(tmp, keyText);
    try {
      await link(tmp, final);
    } catch (err) {
      if (!isCode(err, "EEXIST")) throw keyError(`cannot create the signing key ${final}: ${errorMessage(err)}`, err);
      // Another process created the key first: use theirs.
      await unlink(tmp);
      const theirs = await this.load();
      if (!theirs) throw keyError(`the signing key ${final} vanished while it was created`);
      return theirs;
    }
    await unlink(tmp);
    await this.publish(signer);
    return signer;
  }

  /**
   * Replaces the signing key with a new one (same name unless given). The old verifier key
   * stays in `verifiers`, so checkpoints it signed still verify.
   */
  async rotate(name?: string): Promise<{ signer: NoteSigner; retired: VerifierKey | null }> {
    const old = await this.load();
    await this.ensureDir();
    const keyName = name ?? old?.name;
    if (!keyName) throw keyError("no signing key to rotate and no key name given");
    const keyText = formatSignerKey(keyName, new Uint8Array(randomBytes(32))) + "\n";
    const signer = parseSignerKey(keyText);
    // List the new verifier key before anything can be signed with it.
    if (old) await this.appendVerifier(old.verifierKey);
    await this.appendVerifier(signer.verifierKey);
    const final = this.path(SIGNING_KEY_FILE);
    const tmp = tempName(final);
    await writePrivate(tmp, keyText);
    await rename(tmp, final);
    await this.publish(signer);
    return { signer, retired: old ? parseVerifierKey(old.verifierKey) : null };
  }

  /** The current verifier key string; KEY_ERROR when there is no key yet. */
  async exportPublic(): Promise<string> {
    const signer = await this.load();
    if (!signer) throw keyError(`no signing key in ${this.dir} yet; it is created by the first checkpoint (aitrail checkpoint)`);
    return signer.verifierKey;
  }

  /** Every verifier key this directory has signed with (current included), oldest first. */
  async verifierKeys(): Promise<VerifierKey[]> {
    const keys = await readVerifierFile(this.path(VERIFIERS_FILE), true);
    const current = await this.load();
    if (current && !keys.some((k) => k.text === current.verifierKey)) keys.push(parseVerifierKey(current.verifierKey));
    return keys;
  }

  private async ensureDir(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw keyError(`cannot create the key directory ${this.dir}: ${errorMessage(err)}`, err);
    }
  }

  private async publish(signer: NoteSigner): Promise<void> {
    await this.appendVerifier(signer.verifierKey);
    const pub = this.path(PUBLIC_KEY_FILE);
    const tmp = tempName(pub);
    await writePrivate(tmp, signer.verifierKey + "\n");
    await rename(tmp, pub);
  }

  private async appendVerifier(vkey: string): Promise<void> {
    const file = this.path(VERIFIERS_FILE);
    const known = await readVerifierFile(file, true);
    if (known.some((k) => k.text === vkey)) return;
    const handle = await open(file, "a", 0o600);
    try {
      await handle.writeFile(vkey + "\n");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(file, 0o600);
  }
}

async function readVerifierFile(file: string, missingOk: boolean): Promise<VerifierKey[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if (missingOk && isCode(err, "ENOENT")) return [];
    throw keyError(`cannot read verifier keys from ${file}: ${errorMessage(err)}`, err);
  }
  return parseVerifierLines(text, file);
}

function parseVerifierLines(text: string, source: string): VerifierKey[] {
  const keys: VerifierKey[] = [];
  text.split("\n").forEach((line, i) => {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) return;
    try {
      keys.push(parseVerifierKey(t));
    } catch (err) {
      throw new AitrailError("MALFORMED_KEY", `${source} line ${i + 1}: ${errorMessage(err)}`);
    }
  });
  return keys;
}

/**
 * Verifier keys from a `--public-key` argument: a verifier key string itself, or a file
 * holding one or more of them (one per line, `#` comments allowed). Throws MALFORMED_KEY.
 */
export async function readVerifierKeys(fileOrKey: string): Promise<VerifierKey[]> {
  try {
    return [parseVerifierKey(fileOrKey)];
  } catch {
    // Not a key: a file.
  }
  let text: string;
  try {
    text = await readFile(fileOrKey, "utf8");
  } catch (err) {
    throw new AitrailError("MALFORMED_KEY", `--public-key is neither a verifier key (<name>+<id>+<key>) nor a readable file: ${errorMessage(err)}`);
  }
  const keys = parseVerifierLines(text, fileOrKey);
  if (keys.length === 0) throw new AitrailError("MALFORMED_KEY", `${fileOrKey} holds no verifier key`);
  return keys;
}
