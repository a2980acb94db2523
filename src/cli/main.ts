/**
 * The `aitrail` command line. Exit codes: 0 success, 1 a check failed (verify found a
 * problem, a bundle is invalid), 2 bad input or an error (message names the code).
 */
import { Command, CommanderError } from "commander";
import { AitrailError, errorMessage } from "../errors.js";
import { processIO, type CliContext, type CliIO } from "./context.js";
import { COMMANDS } from "./commands/index.js";

export async function main(argv: readonly string[], io: CliIO = processIO): Promise<number> {
  const ctx: CliContext = { io, exitCode: 0 };
  const program = new Command("aitrail")
    .description("Tamper-evident audit trail for AI model calls")
    .version("0.1.0")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError();
  for (const register of COMMANDS) register(program, ctx);
  try {
    await program.parseAsync(argv, { from: "user" });
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : 2;
    }
    if (AitrailError.isInstance(err)) {
      io.err(`aitrail: ${err.code}: ${err.message}\n`);
      return 2;
    }
    io.err(`aitrail: unexpected error: ${errorMessage(err)}\n`);
    return 2;
  }
}
