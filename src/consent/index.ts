export * from "./legal-basis.js";
export * from "./purposes.js";
export * from "./manager.js";
export * from "./policy.js";
export * from "./subject-access.js";
export * from "./subject-access-html.js";
