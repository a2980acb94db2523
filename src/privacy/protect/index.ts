export * from "./protector.js";
