/**
 * A private PostgreSQL instance for outage tests: initdb into a temp directory and pg_ctl on
 * a free port, so the shared server keeps serving while this one is stopped and restarted.
 * initdb refuses to run as root; as root the instance runs as the `postgres` user.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const PG_BIN = process.env.AITRAIL_PG_BIN ?? "/usr/lib/postgresql/15/bin";

/** Why a private instance cannot run here, or null. */
export function privatePgUnavailable(): string | null {
  if (!fs.existsSync(path.join(PG_BIN, "initdb")) || !fs.existsSync(path.join(PG_BIN, "pg_ctl"))) return `no initdb/pg_ctl under ${PG_BIN}`;
  if (process.getuid?.() === 0) {
    try {
      fs.accessSync("/usr/sbin/runuser", fs.constants.X_OK);
    } catch {
      return "running as root without runuser to start PostgreSQL as another user";
    }
  }
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export class PrivatePostgres {
  readonly dir: string;
  readonly port: number;
  readonly #asRoot = process.getuid?.() === 0;

  private constructor(dir: string, port: number) {
    this.dir = dir;
    this.port = port;
  }

  get url(): string {
    return `postgres://root@127.0.0.1:${this.port}/postgres`;
  }

  async #pg(bin: string, args: string[]): Promise<void> {
    const exe = path.join(PG_BIN, bin);
    if (this.#asRoot) await run("/usr/sbin/runuser", ["-u", "postgres", "--", exe, ...args], { cwd: "/" });
    else await run(exe, args);
  }

  static async create(): Promise<PrivatePostgres> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aitrail-pg-"));
    const port = await freePort();
    const pg = new PrivatePostgres(dir, port);
    if (pg.#asRoot) await run("chown", ["postgres:postgres", dir]);
    await pg.#pg("initdb", ["-D", path.join(dir, "data"), "-A", "trust", "-U", "root", "--no-sync", "-E", "UTF8"]);
    await pg.start();
    return pg;
  }

  async start(): Promise<void> {
    const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on`;
    await this.#pg("pg_ctl", ["-D", path.join(this.dir, "data"), "-o", opts, "-l", path.join(this.dir, "log"), "-w", "-t", "60", "start"]);
  }

  /** `immediate` is a crash: no shutdown checkpoint, in-flight transactions die. */
  async stop(mode: "fast" | "immediate" = "immediate"): Promise<void> {
    await this.#pg("pg_ctl", ["-D", path.join(this.dir, "data"), "-m", mode, "-w", "-t", "60", "stop"]);
  }

  async destroy(): Promise<void> {
    await this.stop("fast").catch(() => undefined);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
