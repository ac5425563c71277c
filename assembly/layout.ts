// The layout constants live in src/layout_constants.ts, shared with the
// TypeScript face (one source of truth, compiled by both asc and tsc).
export * from "../src/layout_constants";
