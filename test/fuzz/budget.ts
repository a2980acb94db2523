/**
 * The fixed iteration budget of the fuzz suite. CI runs it as is; FUZZ_RUNS raises it for a
 * longer local run (e.g. FUZZ_RUNS=100000 npx vitest run test/fuzz). A failure prints the
 * seed and path that reproduce it.
 */
export const RUNS = Math.max(1, Number(process.env.FUZZ_RUNS ?? 2000));
