import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AitrailError } from "../../src/errors.js";
import { canonicalize } from "../../src/event/canonical.js";
import { createBundle, verifyBundle, type EvidenceBundle } from "../../src/ledger/bundle.js";
import { formatCheckpoint, openCheckpoint, parseCheckpointNote, parseCheckpointText, signCheckpoint } from "../../src/ledger/checkpoint.js";
import { leafHash } from "../../src/ledger/hash.js";
import { MemoryTree } from "../../src/ledger/memory-tree.js";
import { signerFromSeed } from "../../src/ledger/note.js";
import { inclusionProofAt, rootAt } from "../../src/ledger/tree.js";

const ORIGIN = "aitrail.local/test-ledger";
const signer = signerFromSeed(ORIGIN, new Uint8Array(32).fill(1));
const other = signerFromSeed("someone.else/log", new Uint8Array(32).fill(2));

function eventId(i: number): string {
  return `evt_01J0000000000000000000${String(i).padStart(4, "0").replace(/[ILOU]/g, "0")}`;
}

function record(i: number): string {
  return canonicalize({ v: 1, eventId: eventId(i), type: "ai.generate", timestamp: "2025-01-01T00:00:00.000Z", userId: `user-${i}`, model: "gpt-4o" });
}

async function ledger(n: number) {
  const records = Array.from({ length: n }, (_, i) => record(i));
  const tree = new MemoryTree();
  tree.append(records.map((r) => leafHash(r)));
  const checkpoint = signCheckpoint({ origin: ORIGIN, treeSize: n, rootHash: await rootAt(tree, n) }, signer);
  const bundleFor = async (i: number): Promise<EvidenceBundle> =>
    createBundle({
      record: records[i]!,
      eventId: eventId(i),
      leafIndex: i,
      treeSize: n,
      inclusionProof: await inclusionProofAt(tree, i, n),
      checkpoint,
    });
  return { records, tree, checkpoint, bundleFor };
}

describe("checkpoints", () => {
  it("format, sign, open", async () => {
    const { checkpoint, tree } = await ledger(5);
    const text = checkpoint.split("\n\n")[0]! + "\n";
    expect(text.split("\n").slice(0, 3)).toEqual([ORIGIN, "5", Buffer.from(await rootAt(tree, 5)).toString("base64")]);
    const cp = openCheckpoint(checkpoint, [signer.verifierKey]);
    expect(cp).toMatchObject({ origin: ORIGIN, treeSize: 5, extensions: [] });
    expect(parseCheckpointNote(checkpoint).treeSize).toBe(5);
  });

  it("the C2SP example checkpoint text parses", () => {
    const cp = parseCheckpointText("example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
    expect(cp.origin).toBe("example.com/behind-the-sofa");
    expect(cp.treeSize).toBe(20852163);
    expect(cp.rootHash.length).toBe(32);
  });

  it("malformed checkpoint texts are MALFORMED_NOTE", () => {
    const root = Buffer.alloc(32).toString("base64");
    for (const text of [
      `o\n1\n`,
      `\n1\n${root}\n`,
      `o\n01\n${root}\n`,
      `o\n-1\n${root}\n`,
      `o\n1.0\n${root}\n`,
      `o\n99999999999999999\n${root}\n`,
      `o\n1\n${root.slice(0, -4)}\n`,
      `o\n1\n${root}`,
      `o\n1\n${root}\n\n`,
    ]) {
      expect(() => parseCheckpointText(text)).toThrow(expect.objectContaining({ code: "MALFORMED_NOTE" }));
    }
    expect(() => formatCheckpoint({ origin: "o", treeSize: -1, rootHash: new Uint8Array(32) })).toThrow(AitrailError);
  });
});

describe("evidence bundles", () => {
  it("verify with only the verifier key, for every leaf", async () => {
    const { bundleFor } = await ledger(13);
    for (let i = 0; i < 13; i++) {
      const result = verifyBundle(JSON.stringify(await bundleFor(i)), [signer.verifierKey]);
      expect(result).toMatchObject({ ok: true, eventId: eventId(i), leafIndex: i, treeSize: 13, origin: ORIGIN, signedBy: [ORIGIN] });
    }
  });

  it("a changed record is INTEGRITY_VIOLATION", async () => {
    const { bundleFor } = await ledger(8);
    const b = await bundleFor(3);
    const tampered = { ...b, record: b.record.replace("gpt-4o", "gpt-4o-mini") };
    expect(verifyBundle(tampered, [signer.verifierKey])).toMatchObject({ ok: false, code: "INTEGRITY_VIOLATION" });
  });

  it("a record from another position, or a different event id, is INTEGRITY_VIOLATION", async () => {
    const { bundleFor, records } = await ledger(8);
    const b = await bundleFor(3);
    expect(verifyBundle({ ...b, leafIndex: 4 }, [signer.verifierKey])).toMatchObject({ ok: false, code: "INTEGRITY_VIOLATION" });
    expect(verifyBundle({ ...b, record: records[4], eventId: eventId(4) }, [signer.verifierKey])).toMatchObject({ ok: false, code: "INTEGRITY_VIOLATION" });
    expect(verifyBundle({ ...b, eventId: eventId(4) }, [signer.verifierKey])).toMatchObject({ ok: false, code: "INTEGRITY_VIOLATION" });
  });

  it("a forged proof hash is INTEGRITY_VIOLATION", async () => {
    const { bundleFor } = await ledger(8);
    const b = await bundleFor(6);
    const proof = [...b.inclusionProof];
    const h = Buffer.from(proof[1]!, "base64");
    h[0]! ^= 0x80;
    proof[1] = h.toString("base64");
    expect(verifyBundle({ ...b, inclusionProof: proof }, [signer.verifierKey])).toMatchObject({ ok: false, code: "INTEGRITY_VIOLATION" });
    expect(verifyBundle({ ...b, inclusionProof: b.inclusionProof.slice(1) }, [signer.verifierKey])).toMatchObject({ ok: false, code: "INTEGRITY_VIOLATION" });
  });

  it("a bundle whose tree size differs from its checkpoint is INTEGRITY_VIOLATION", async () => {
    const { bundleFor } = await ledger(8);
    const b = await bundleFor(2);
    expect(verifyBundle({ ...b, treeSize: 9 }, [signer.verifierKey])).toMatchObject({ ok: false, code: "INTEGRITY_VIOLATION" });
  });

  it("a checkpoint re-signed by an untrusted key, or with a changed root, is BAD_SIGNATURE", async () => {
    const { bundleFor, tree } = await ledger(8);
    const b = await bundleFor(2);
    const forged = signCheckpoint({ origin: ORIGIN, treeSize: 8, rootHash: await rootAt(tree, 8) }, other);
    expect(verifyBundle({ ...b, checkpoint: forged }, [signer.verifierKey])).toMatchObject({ ok: false, code: "BAD_SIGNATURE" });
    const lines = b.checkpoint.split("\n");
    lines[2] = Buffer.alloc(32, 1).toString("base64");
    expect(verifyBundle({ ...b, checkpoint: lines.join("\n") }, [signer.verifierKey])).toMatchObject({ ok: false, code: "BAD_SIGNATURE" });
  });

  it("shape errors are MALFORMED_PROOF, key errors MALFORMED_KEY, note errors MALFORMED_NOTE", async () => {
    const { bundleFor } = await ledger(4);
    const b = await bundleFor(1);
    const key = [signer.verifierKey];
    expect(verifyBundle("not json", key)).toMatchObject({ ok: false, code: "MALFORMED_PROOF" });
    expect(verifyBundle(null, key)).toMatchObject({ ok: false, code: "MALFORMED_PROOF" });
    expect(verifyBundle({ ...b, format: "aitrail-evidence/2" }, key)).toMatchObject({ ok: false, code: "MALFORMED_PROOF" });
    expect(verifyBundle({ ...b, inclusionProof: ["AAAA"] }, key)).toMatchObject({ ok: false, code: "MALFORMED_PROOF" });
    expect(verifyBundle({ ...b, leafIndex: 4 }, key)).toMatchObject({ ok: false, code: "MALFORMED_PROOF" });
    expect(verifyBundle({ ...b, record: "{" }, key)).toMatchObject({ ok: false, code: "MALFORMED_PROOF" });
    expect(verifyBundle(b, ["not a key"])).toMatchObject({ ok: false, code: "MALFORMED_KEY" });
    expect(verifyBundle(b, [])).toMatchObject({ ok: false, code: "MALFORMED_KEY" });
    expect(verifyBundle({ ...b, checkpoint: "garbage" }, key)).toMatchObject({ ok: false, code: "MALFORMED_NOTE" });
  });

  it("fuzz: replacing any field with any value never throws and never verifies", async () => {
    const { bundleFor } = await ledger(6);
    const b = await bundleFor(4);
    const fields = Object.keys(b) as (keyof EvidenceBundle)[];
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.anything(), (field, value) => {
        fc.pre(JSON.stringify(value) !== JSON.stringify(b[field]));
        const result = verifyBundle({ ...b, [field]: value }, [signer.verifierKey]);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(["MALFORMED_PROOF", "INTEGRITY_VIOLATION", "BAD_SIGNATURE", "MALFORMED_NOTE"]).toContain(result.code);
      }),
      { numRuns: 500 },
    );
  });

  it("fuzz: any one-character change to the bundle JSON is rejected or harmless", async () => {
    const { bundleFor } = await ledger(6);
    const b = await bundleFor(4);
    const json = JSON.stringify(b, null, 2);
    fc.assert(
      fc.property(fc.nat(json.length - 1), fc.string({ minLength: 1, maxLength: 1, unit: "binary" }), (at, ch) => {
        fc.pre(json[at] !== ch);
        const changed = json.slice(0, at) + ch + json.slice(at + 1);
        const result = verifyBundle(changed, [signer.verifierKey]);
        if (result.ok) {
          // Only whitespace changes of the JSON framing may still verify: the content is identical.
          expect(JSON.parse(changed)).toEqual(b);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
