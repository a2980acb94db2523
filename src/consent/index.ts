export * from "./legal-basis.js";
export * from "./purposes.js";
export * from "./manager.js";
export * from "./policy.js";
