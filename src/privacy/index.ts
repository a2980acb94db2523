export * from "./keyring/index.js";
export * from "./protect/index.js";
export * from "./redact/index.js";
export * from "./erase.js";
export * from "./open.js";
