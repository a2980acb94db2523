export * from "./builtin.js";
export * from "./validators.js";
export * from "./redactor.js";
export * from "./presidio.js";
