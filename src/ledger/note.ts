/**
 * C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 signatures.
 *
 *   <text, ending in a newline>
 *   <blank line>
 *   — <key name> base64(4-byte big-endian key ID || signature)
 *
 *   key ID        = SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]
 *   verifier key  = <name>+<8 lowercase hex digits of the key ID>+base64(0x01 || public key)
 *   signer key    = PRIVATE+KEY+<name>+<key ID hex>+base64(0x01 || 32-byte seed)
 *
 * The verifier and signer key strings are those of golang.org/x/mod/sumdb/note, so keys
 * and notes interoperate with the Go tooling of the transparency-log ecosystem.
 * Parsers reject anything malformed with a coded error and never echo key material.
 */
import { createPrivateKey, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from "node:crypto";
import { AitrailError } from "../errors.js";
import { sha256 } from "./hash.js";

export const ALG_ED25519 = 0x01;
/** Notes larger than this are refused before parsing. */
export const MAX_NOTE_SIZE = 256 * 1024;
/** Notes with more signature lines than this are refused (the spec asks for at least 16). */
export const MAX_SIGNATURES = 100;

const SIG_PREFIX = "\u2014 ";
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const encoder = new TextEncoder();

export interface VerifierKey {
  name: string;
  /** uint32 key ID. */
  keyId: number;
  /** 32-byte Ed25519 public key. */
  publicKey: Uint8Array;
  /** The verifier key string. */
  text: string;
}

export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: Uint8Array;
  /** The verifier key string for this signer. */
  readonly verifierKey: string;
  sign(message: Uint8Array): Uint8Array;
}

export interface NoteSignature {
  name: string;
  keyId: number;
  /** The signature bytes, without the key ID. */
  signature: Uint8Array;
}

export interface ParsedNote {
  /** The signed text, including its final newline. */
  text: string;
  signatures: NoteSignature[];
}

export interface OpenedNote extends ParsedNote {
  /** The trusted keys whose signatures verified. */
  verifiedBy: VerifierKey[];
}

// ---------------------------------------------------------------- helpers

/** Base64 (RFC 4648 section 4, padded) decoding that accepts only the canonical encoding. */
export function decodeBase64Strict(text: string): Uint8Array | null {
  if (typeof text !== "string" || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  const bytes = Buffer.from(text, "base64");
  if (bytes.toString("base64") !== text) return null;
  return new Uint8Array(bytes);
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** True when text has an ASCII control character other than newline. */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return true;
  }
  return false;
}
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const SPACE_OR_PLUS = /[\s\u0085+]/u;

/** A key name is non-empty and has no Unicode spaces, no plus and no control characters. */
export function isValidKeyName(name: unknown): name is string {
  return typeof name === "string" && name.length > 0 && name.length <= 1024 && !SPACE_OR_PLUS.test(name) && !hasControl(name) && !LONE_SURROGATE.test(name);
}

/** The key ID of an Ed25519 key: SHA-256(name || 0x0A || 0x01 || key)[:4], big-endian. */
export function keyIdFor(name: string, publicKey: Uint8Array): number {
  const data = new Uint8Array([...encoder.encode(name), 0x0a, ALG_ED25519, ...publicKey]);
  return Buffer.from(sha256(data)).readUInt32BE(0);
}

const hex8 = (id: number): string => id.toString(16).padStart(8, "0");

function malformedKey(reason: string): AitrailError {
  return new AitrailError("MALFORMED_KEY", `malformed verifier key: ${reason}`);
}

function publicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: "der", type: "spki" });
}

// ---------------------------------------------------------------- keys

export function formatVerifierKey(name: string, publicKey: Uint8Array): string {
  if (!isValidKeyName(name)) throw new AitrailError("MALFORMED_KEY", "key name must be non-empty, without spaces, plus signs or control characters");
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) throw malformedKey("an Ed25519 public key is 32 bytes");
  return `${name}+${hex8(keyIdFor(name, publicKey))}+${encodeBase64(new Uint8Array([ALG_ED25519, ...publicKey]))}`;
}

/** Parses `<name>+<hex key ID>+<base64(0x01 || public key)>`; throws MALFORMED_KEY. */
export function parseVerifierKey(text: unknown): VerifierKey {
  if (typeof text !== "string") throw malformedKey("not a string");
  const trimmed = text.trim();
  if (trimmed.length > 2048) throw malformedKey("too long");
  const first = trimmed.indexOf("+");
  const second = first < 0 ? -1 : trimmed.indexOf("+", first + 1);
  if (first < 0 || second < 0) throw malformedKey("expected <name>+<key id>+<key>");
  const name = trimmed.slice(0, first);
  const idHex = trimmed.slice(first + 1, second);
  const keyText = trimmed.slice(second + 1);
  if (!isValidKeyName(name)) throw malformedKey("bad key name");
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw malformedKey("key id must be 8 lowercase hex digits");
  const key = decodeBase64Strict(keyText);
  if (!key) throw malformedKey("key is not canonical base64");
  if (key.length !== 33 || key[0] !== ALG_ED25519) throw malformedKey("only Ed25519 keys (type 0x01, 32 bytes) are supported");
  const publicKey = key.slice(1);
  const keyId = parseInt(idHex, 16);
  if (keyIdFor(name, publicKey) !== keyId) throw malformedKey("key id does not match the name and key");
  try {
    publicKeyObject(publicKey);
  } catch {
    throw malformedKey("not a usable Ed25519 public key");
  }
  return { name, keyId, publicKey, text: trimmed };
}

/** A signer from a name and a 32-byte Ed25519 seed (the private key). */
export function signerFromSeed(name: string, seed: Uint8Array): NoteSigner {
  if (!isValidKeyName(name)) throw new AitrailError("KEY_ERROR", "key name must be non-empty, without spaces, plus signs or control characters");
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new AitrailError("KEY_ERROR", "an Ed25519 private key is 32 bytes");
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: "der", type: "pkcs8" });
  } catch {
    throw new AitrailError("KEY_ERROR", "not a usable Ed25519 private key");
  }
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  const publicKey = new Uint8Array(spki.subarray(spki.length - 32));
  const keyId = keyIdFor(name, publicKey);
  const verifierKey = formatVerifierKey(name, publicKey);
  return Object.freeze({
    name,
    keyId,
    publicKey,
    verifierKey,
    sign: (message: Uint8Array) => new Uint8Array(edSign(null, message, privateKey)),
    toJSON: () => ({ name, keyId, verifierKey }),
  });
}

/** Formats a signer key string, `PRIVATE+KEY+<name>+<key ID>+base64(0x01 || seed)`. */
export function formatSignerKey(name: string, seed: Uint8Array): string {
  const signer = signerFromSeed(name, seed);
  return `PRIVATE+KEY+${name}+${hex8(signer.keyId)}+${encodeBase64(new Uint8Array([ALG_ED25519, ...seed]))}`;
}

/** Parses a signer key string; throws KEY_ERROR without repeating any of it. */
export function parseSignerKey(text: string): NoteSigner {
  const bad = (reason: string) => new AitrailError("KEY_ERROR", `malformed signing key: ${reason}`);
  if (typeof text !== "string") throw bad("not a string");
  const parts = text.trim().split("+");
  if (parts.length < 5 || parts[0] !== "PRIVATE" || parts[1] !== "KEY") throw bad("expected PRIVATE+KEY+<name>+<key id>+<key>");
  const name = parts[2]!;
  const idHex = parts[3]!;
  const key = decodeBase64Strict(parts.slice(4).join("+"));
  if (!isValidKeyName(name) || !/^[0-9a-f]{8}$/.test(idHex)) throw bad("bad name or key id");
  if (!key || key.length !== 33 || key[0] !== ALG_ED25519) throw bad("only Ed25519 keys (type 0x01, 32 bytes) are supported");
  const signer = signerFromSeed(name, key.slice(1));
  if (signer.keyId !== parseInt(idHex, 16)) throw bad("key id does not match the key");
  return signer;
}

// ---------------------------------------------------------------- notes

function malformed(reason: string): AitrailError {
  return new AitrailError("MALFORMED_NOTE", `malformed signed note: ${reason}`);
}

function checkText(text: string, what: string): void {
  if (hasControl(text)) throw malformed(`${what} contains control characters`);
  if (LONE_SURROGATE.test(text)) throw malformed(`${what} is not valid UTF-8`);
}

/** Signs `text` (which must end in a newline) with each signer; returns the note. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  if (typeof text !== "string" || !text.endsWith("\n")) throw malformed("text must end with a newline");
  checkText(text, "text");
  if (signers.length === 0) throw new AitrailError("INVALID_ARGUMENT", "a note needs at least one signer");
  const message = encoder.encode(text);
  const lines = signers.map((s) => {
    const sig = s.sign(message);
    const blob = new Uint8Array(4 + sig.length);
    new DataView(blob.buffer).setUint32(0, s.keyId);
    blob.set(sig, 4);
    return `${SIG_PREFIX}${s.name} ${encodeBase64(blob)}\n`;
  });
  return `${text}\n${lines.join("")}`;
}

/** Splits a note into text and signature lines; throws MALFORMED_NOTE. Verifies nothing. */
export function parseNote(note: unknown): ParsedNote {
  if (typeof note !== "string") throw malformed("not a string");
  if (note.length > MAX_NOTE_SIZE) throw malformed(`larger than ${MAX_NOTE_SIZE} characters`);
  checkText(note, "note");
  if (!note.endsWith("\n")) throw malformed("must end with a newline");
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw malformed("no blank line before the signatures");
  const text = note.slice(0, split + 1);
  const sigLines = note.slice(split + 2, -1).split("\n");
  if (sigLines.length > MAX_SIGNATURES) throw malformed(`more than ${MAX_SIGNATURES} signatures`);
  const signatures = sigLines.map((line): NoteSignature => {
    if (!line.startsWith(SIG_PREFIX)) throw malformed("signature lines start with an em dash and a space");
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(" ");
    if (space < 0) throw malformed("signature line needs a key name and a signature");
    const name = rest.slice(0, space);
    if (!isValidKeyName(name)) throw malformed("bad key name in a signature line");
    const blob = decodeBase64Strict(rest.slice(space + 1));
    if (!blob || blob.length < 5) throw malformed("signature is not canonical base64 of a key id and a signature");
    return { name, keyId: Buffer.from(blob).readUInt32BE(0), signature: blob.slice(4) };
  });
  return { text, signatures };
}

function verifyEd25519(key: VerifierKey, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  try {
    return edVerify(null, message, publicKeyObject(key.publicKey), signature);
  } catch {
    return false;
  }
}

/**
 * Parses a note and checks it against trusted keys. Signatures from unknown keys are
 * ignored; a known key whose signature fails rejects the note (BAD_SIGNATURE), and so does
 * a note with no verified signature from a known key.
 */
export function openNote(note: unknown, trusted: readonly (VerifierKey | string)[]): OpenedNote {
  const keys = trusted.map((k) => (typeof k === "string" ? parseVerifierKey(k) : k));
  const parsed = parseNote(note);
  const message = encoder.encode(parsed.text);
  const verifiedBy: VerifierKey[] = [];
  for (const sig of parsed.signatures) {
    const key = keys.find((k) => k.name === sig.name && k.keyId === sig.keyId);
    if (!key) continue;
    if (!verifyEd25519(key, message, sig.signature)) {
      throw new AitrailError("BAD_SIGNATURE", `signature by ${key.name}+${hex8(key.keyId)} does not verify`, {
        details: { keyName: key.name, keyId: hex8(key.keyId) },
      });
    }
    if (!verifiedBy.includes(key)) verifiedBy.push(key);
  }
  if (verifiedBy.length === 0) {
    const signers = parsed.signatures.map((s) => `${s.name}+${hex8(s.keyId)}`);
    throw new AitrailError("BAD_SIGNATURE", `no signature from a trusted key (signed by: ${signers.join(", ")})`, {
      details: { signers },
    });
  }
  return { ...parsed, verifiedBy };
}
