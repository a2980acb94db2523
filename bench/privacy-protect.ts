import path from "node:path";
import { randomBytes } from "node:crypto";
import { parseEventInput } from "../src/event/schema.js";
import { SqliteStore } from "../src/store/sqlite/store.js";
import { LocalKeyProvider, openPrivacy, Redactor } from "../src/privacy/index.js";
import { tempDir } from "../test/helpers/tmp.js";
/** Privacy step throughput: key lookup, protect, redact (npx tsx bench/privacy-protect.ts). */
async function main(): Promise<void> {
  const t = tempDir();
  const store = new SqliteStore({ path: path.join(t.dir, "b.db") });
  await store.open();
  const p = await openPrivacy({ store, provider: new LocalKeyProvider(randomBytes(32)) });
  const N = 5000;
  let t0 = performance.now();
  for (let i = 0; i < N; i++) await p.keyring.obtain("user", `user-${i % 500}`);
  console.log(`obtain: ${(N / (performance.now() - t0) * 1000).toFixed(0)}/s`);
  t0 = performance.now();
  for (let i = 0; i < N; i++) await p.keyring.obtain("user", `user-${i % 500}`);
  console.log(`obtain warm: ${(N / (performance.now() - t0) * 1000).toFixed(0)}/s`);
  const ev = parseEventInput({ type: "ai.generate", userId: "user-1", sessionId: "s", ip: "10.0.0.1", userAgent: "UA", prompt: "hello jane@example.com how are you", response: "fine" });
  t0 = performance.now();
  for (let i = 0; i < N; i++) await p.protect(ev);
  console.log(`protect warm: ${(N / (performance.now() - t0) * 1000).toFixed(0)}/s`);
  const r = new Redactor();
  t0 = performance.now();
  for (let i = 0; i < N; i++) await r.redact("hello jane@example.com how are you");
  console.log(`redact: ${(N / (performance.now() - t0) * 1000).toFixed(0)}/s`);
  t0 = performance.now();
  for (let i = 0; i < N; i++) await p.keyStore.get("x");
  console.log(`get: ${(N / (performance.now() - t0) * 1000).toFixed(0)}/s`);
  await store.close();
  t.cleanup();
}

await main();
