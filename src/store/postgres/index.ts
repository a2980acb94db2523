/** The PostgreSQL backend (`pg` is imported only in this folder). */
export { PostgresStore, createPostgresStore, splitSchema, type PostgresStoreOptions } from "./store.js";
