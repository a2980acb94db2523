export * from "./provider.js";
export * from "./store.js";
export * from "./keyring.js";
export * from "./sqlite.js";
export * from "./postgres.js";
