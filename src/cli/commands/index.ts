/** Every command registers itself here: one file a command. */
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { registerDemo } from "./demo.js";
import { registerQuery } from "./query.js";
import { registerVerify } from "./verify.js";

export type RegisterCommand = (program: Command, ctx: CliContext) => void;

export const COMMANDS: RegisterCommand[] = [registerDemo, registerVerify, registerQuery];
