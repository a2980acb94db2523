export * from "./schema.js";
export * from "./canonical.js";
export * from "./ids.js";
export * from "./levels.js";
