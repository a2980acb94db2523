/**
 * The few primitives privacy needs: AES-256-GCM sealing with associated data, HMAC-SHA-256,
 * HKDF, base64url. Sealed blobs are `version (1 byte) || nonce (12) || ciphertext || tag (16)`.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";

export const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const BLOB_VERSION = 1;

/** Thrown by `open` when the tag does not verify: wrong key, wrong context, or altered bytes. */
export class SealOpenError extends Error {
  constructor() {
    super("authentication failed");
    this.name = "SealOpenError";
  }
}

export function seal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([BLOB_VERSION]), nonce, body, cipher.getAuthTag()]);
}

export function open(key: Uint8Array, blob: Uint8Array, aad: Uint8Array): Buffer {
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (buf.length < 1 + NONCE_BYTES + TAG_BYTES || buf[0] !== BLOB_VERSION) throw new SealOpenError();
  const nonce = buf.subarray(1, 1 + NONCE_BYTES);
  const tag = buf.subarray(buf.length - TAG_BYTES);
  const body = buf.subarray(1 + NONCE_BYTES, buf.length - TAG_BYTES);
  const decipher = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new SealOpenError();
  }
}

export function hmac(key: Uint8Array, message: string | Uint8Array): Buffer {
  return createHmac("sha256", key).update(message).digest();
}

export function hkdf(key: Uint8Array, info: string, length: number = KEY_BYTES): Buffer {
  return Buffer.from(hkdfSync("sha256", key, Buffer.alloc(0), info, length));
}

export function randomKey(bytes: number = KEY_BYTES): Buffer {
  return randomBytes(bytes);
}

export function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

export function fromB64url(text: string): Buffer {
  return Buffer.from(text, "base64url");
}

export function utf8(text: string): Buffer {
  return Buffer.from(text, "utf8");
}

/** Constant-time comparison of two strings of secret-derived material. */
export function equalSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Overwrites key material that is no longer needed. */
export function wipe(...buffers: (Uint8Array | undefined)[]): void {
  for (const b of buffers) b?.fill(0);
}
