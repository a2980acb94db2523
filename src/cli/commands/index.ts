/** Every command registers itself here: one file a command. */
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { registerDemo } from "./demo.js";
import { registerLoad } from "./load.js";
import { registerQuery } from "./query.js";
import { registerVerify } from "./verify.js";
import { registerCheckpoint } from "./checkpoint.js";
import { registerProve } from "./prove.js";
import { registerVerifyBundle } from "./verify-bundle.js";
import { registerKeys } from "./keys.js";
import { registerErase } from "./erase.js";
import { registerDsar } from "./dsar.js";
import { registerMasterKey } from "./master-key.js";
import { registerProvider } from "./provider.js";
import { registerRetention } from "./retention.js";

export type RegisterCommand = (program: Command, ctx: CliContext) => void;

export const COMMANDS: RegisterCommand[] = [registerDemo, registerVerify, registerQuery, registerLoad];
COMMANDS.push(registerCheckpoint, registerProve, registerVerifyBundle, registerKeys);
COMMANDS.push(registerErase, registerDsar, registerMasterKey);
COMMANDS.push(registerProvider);
COMMANDS.push(registerRetention);
