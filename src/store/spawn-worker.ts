/**
 * Starts a worker thread from a module beside the caller. From the built package the module
 * is plain JavaScript; from the TypeScript sources (tests, `tsx`) it is a .ts file that Node
 * cannot load by itself, so the worker first registers tsx's loader, then imports it.
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker, type WorkerOptions } from "node:worker_threads";

/** `name` without extension, resolved beside `callerUrl` (pass import.meta.url). */
export function spawnWorker(callerUrl: string, name: string, options: WorkerOptions = {}): Worker {
  const fromSource = /\.[cm]?ts$/.test(new URL(callerUrl).pathname);
  const url = new URL(`./${name}${fromSource ? ".ts" : ".js"}`, callerUrl);
  if (!fromSource) return new Worker(url, options);
  // The ESM build of tsx's API (require.resolve would give the CommonJS one).
  const tsx = pathToFileURL(createRequire(callerUrl).resolve("tsx/esm/api").replace(/\.cjs$/, ".mjs")).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(boot, { ...options, eval: true });
}
