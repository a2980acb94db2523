import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AitrailError } from "../../src/errors.js";
import {
  formatSignerKey,
  formatVerifierKey,
  keyIdFor,
  openNote,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  signerFromSeed,
  signNote,
} from "../../src/ledger/note.js";
import { formatCheckpoint, parseCheckpointText } from "../../src/ledger/checkpoint.js";

// Reference vectors of golang.org/x/mod/sumdb/note (note_test.go and its package docs).
const GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_NOTE = GO_TEXT + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
// Other published verifier keys: the C2SP example, the Go tests' second key, and one whose
// base64 contains a plus sign (transparency-dev/formats tests).
const OTHER_VKEYS = [
  "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
  "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop",
  "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6",
];

const code = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (err) {
    if (!AitrailError.isInstance(err)) throw err;
    return err.code;
  }
};

describe("golang.org/x/mod/sumdb/note vectors", () => {
  it("the signer key gives the published verifier key", () => {
    const signer = parseSignerKey(GO_SKEY);
    expect(signer.name).toBe("PeterNeumann");
    expect(signer.keyId).toBe(0xc74f20a3);
    expect(signer.verifierKey).toBe(GO_VKEY);
  });

  it("signing reproduces the published note byte for byte (Ed25519 is deterministic)", () => {
    expect(signNote(GO_TEXT, [parseSignerKey(GO_SKEY)])).toBe(GO_NOTE);
  });

  it("opens the published note with the verifier key and rejects a changed text", () => {
    const opened = openNote(GO_NOTE, [GO_VKEY]);
    expect(opened.text).toBe(GO_TEXT);
    expect(opened.verifiedBy.map((k) => k.name)).toEqual(["PeterNeumann"]);
    expect(code(() => openNote(GO_NOTE.replace("cryptography", "cryptographY"), [GO_VKEY]))).toBe("BAD_SIGNATURE");
  });

  it("parses other published verifier keys and writes them back unchanged", () => {
    for (const vkey of OTHER_VKEYS) {
      const k = parseVerifierKey(vkey);
      expect(formatVerifierKey(k.name, k.publicKey)).toBe(vkey);
      expect(keyIdFor(k.name, k.publicKey)).toBe(k.keyId);
    }
  });

  it("every proper substring and every one-character change of a verifier key is MALFORMED_KEY", () => {
    for (let i = 0; i <= GO_VKEY.length; i++) {
      for (let j = i + 1; j <= GO_VKEY.length; j++) {
        if (i === 0 && j === GO_VKEY.length) continue;
        const sub = GO_VKEY.slice(i, j);
        if (sub.trim() !== sub) continue;
        expect(code(() => parseVerifierKey(sub)), sub).toBe("MALFORMED_KEY");
      }
    }
    for (let i = 0; i < GO_VKEY.length; i++) {
      const changed = GO_VKEY.slice(0, i) + String.fromCharCode(GO_VKEY.charCodeAt(i) + 1) + GO_VKEY.slice(i + 1);
      expect(code(() => parseVerifierKey(changed)), changed).toBe("MALFORMED_KEY");
    }
  });
});

describe("signed notes", () => {
  const alice = signerFromSeed("log.example/alice", new Uint8Array(32).fill(7));
  const bob = signerFromSeed("log.example/bob", new Uint8Array(32).fill(9));

  it("round-trips with several signatures; unknown signers are ignored", () => {
    const note = signNote("hello\n\nworld\n", [alice, bob]);
    expect(parseNote(note).signatures.map((s) => s.name)).toEqual(["log.example/alice", "log.example/bob"]);
    const opened = openNote(note, [bob.verifierKey]);
    expect(opened.text).toBe("hello\n\nworld\n");
    expect(opened.verifiedBy.map((k) => k.name)).toEqual(["log.example/bob"]);
  });

  it("a note signed by no trusted key is BAD_SIGNATURE", () => {
    const note = signNote("hello\n", [alice]);
    expect(code(() => openNote(note, [bob.verifierKey]))).toBe("BAD_SIGNATURE");
  });

  it("a key sharing the name but not the id, or the id but not the name, is not trusted", () => {
    const note = signNote("hello\n", [alice]);
    const sameName = signerFromSeed("log.example/alice", new Uint8Array(32).fill(8));
    expect(code(() => openNote(note, [sameName.verifierKey]))).toBe("BAD_SIGNATURE");
  });

  it("a forged signature from a trusted key rejects the whole note, even beside a good one", () => {
    const good = signNote("hello\n", [alice, bob]);
    const lines = good.split("\n");
    const aliceLine = lines.findIndex((l) => l.includes("alice"));
    const blob = Buffer.from(lines[aliceLine]!.split(" ")[2]!, "base64");
    blob[10]! ^= 1;
    lines[aliceLine] = `\u2014 log.example/alice ${blob.toString("base64")}`;
    expect(code(() => openNote(lines.join("\n"), [alice.verifierKey, bob.verifierKey]))).toBe("BAD_SIGNATURE");
  });

  it("malformed notes are MALFORMED_NOTE", () => {
    const sig = signNote("a\n", [alice]).split("\n\n")[1]!;
    const cases = [
      "",
      "a\n",
      "a\n\n",
      "a\n\n" + sig.trimEnd(), // no final newline
      "a\n\n- log.example/alice " + sig.split(" ")[2], // hyphen, not em dash
      "a\n\n\u2014 log.example/alice\n",
      "a\n\n\u2014  " + sig.slice(2), // empty key name
      "a\n\n\u2014 log.example/alice AAAA\n", // too short for id + signature
      "a\n\n\u2014 log.example/alice not-base64!\n",
      "a\tb\n\n" + sig, // control character
      "a\r\n\n" + sig,
      "a\ud800\n\n" + sig, // not valid UTF-8
      "a\n\n" + sig + "\n", // blank line after the signatures
      "a\n\n" + Array.from({ length: 101 }, () => sig).join(""),
    ];
    for (const c of cases) expect(code(() => parseNote(c)), JSON.stringify(c)).toBe("MALFORMED_NOTE");
    expect(code(() => parseNote(42))).toBe("MALFORMED_NOTE");
  });

  it("signing refuses text without a final newline or with control characters", () => {
    expect(code(() => signNote("no newline", [alice]))).toBe("MALFORMED_NOTE");
    expect(code(() => signNote("bell\u0007\n", [alice]))).toBe("MALFORMED_NOTE");
  });

  it("key names with spaces or plus signs are refused", () => {
    expect(code(() => signerFromSeed("has space", new Uint8Array(32)))).toBe("KEY_ERROR");
    expect(code(() => signerFromSeed("a+b", new Uint8Array(32)))).toBe("KEY_ERROR");
    expect(code(() => formatVerifierKey("a\u00a0b", new Uint8Array(32)))).toBe("MALFORMED_KEY");
  });

  it("signer key strings round-trip and their errors never repeat the key", () => {
    const seed = new Uint8Array(32).fill(42);
    const skey = formatSignerKey("log.example/x", seed);
    expect(parseSignerKey(skey).verifierKey).toBe(signerFromSeed("log.example/x", seed).verifierKey);
    const broken = skey.slice(0, -3) + "zzz";
    try {
      parseSignerKey(broken);
      expect.unreachable();
    } catch (err) {
      expect(AitrailError.isInstance(err, "KEY_ERROR")).toBe(true);
      const e = err as AitrailError;
      const secret = skey.split("+").slice(4).join("+");
      expect(e.message).not.toContain(secret.slice(0, 12));
      expect(JSON.stringify(e.toJSON())).not.toContain(secret.slice(0, 12));
    }
  });

  it("a signer serializes without its private key", () => {
    const seed = new Uint8Array(32).fill(5);
    const s = signerFromSeed("log.example/y", seed);
    const json = JSON.stringify(s);
    expect(json).toContain("log.example/y");
    expect(json).not.toContain(Buffer.from(seed).toString("base64").slice(0, 16));
  });
});

describe("fuzz: parsers never throw anything but coded errors", () => {
  const alice = signerFromSeed("log.example/alice", new Uint8Array(32).fill(7));
  const good = signNote("origin\n12\nroot\n", [alice]);

  it("parseNote and openNote on arbitrary strings", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.string({ unit: "binary" })), (s) => {
        const c = code(() => openNote(s, [alice.verifierKey]));
        expect(["MALFORMED_NOTE", "BAD_SIGNATURE"]).toContain(c);
      }),
      { numRuns: 500 },
    );
  });

  it("parseVerifierKey on arbitrary strings and values", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.anything()), (s) => {
        expect(code(() => parseVerifierKey(s))).toBe("MALFORMED_KEY");
      }),
      { numRuns: 500 },
    );
  });

  it("parseSignerKey on arbitrary strings is KEY_ERROR, and the message never repeats the input", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 12 }), (s) => {
        try {
          parseSignerKey(`PRIVATE+KEY+${s}`);
        } catch (err) {
          expect(AitrailError.isInstance(err, "KEY_ERROR")).toBe(true);
          expect((err as Error).message).not.toContain(s);
          return;
        }
        throw new Error("accepted a random signer key");
      }),
      { numRuns: 300 },
    );
  });

  it("parseCheckpointText on arbitrary text throws only MALFORMED_NOTE", () => {
    const line = fc.oneof(fc.string(), fc.nat().map(String), fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("base64")));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 5 }), fc.boolean(), (lines, newline) => {
        const text = lines.join("\n") + (newline ? "\n" : "");
        const c = code(() => parseCheckpointText(text));
        expect([undefined, "MALFORMED_NOTE"]).toContain(c);
        if (c === undefined) expect(formatCheckpoint(parseCheckpointText(text))).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it("any one-character change to a signed note is rejected", () => {
    fc.assert(
      fc.property(fc.nat(good.length - 1), fc.string({ minLength: 1, maxLength: 1, unit: "binary" }), (at, ch) => {
        fc.pre(good[at] !== ch);
        const changed = good.slice(0, at) + ch + good.slice(at + 1);
        const c = code(() => openNote(changed, [alice.verifierKey]));
        expect(["MALFORMED_NOTE", "BAD_SIGNATURE"]).toContain(c);
      }),
      { numRuns: 1000 },
    );
  });
});
