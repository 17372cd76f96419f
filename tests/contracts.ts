/**
 * Column names from ../shared/CONTRACTS.md, written out here on purpose (not imported from lib/),
 * so a rename in lib/ fails the tests instead of silently changing the contract.
 */

/** Manifest columns `deno task generate` must write first, in order. */
export const MANIFEST_CONTRACT = [
  "file",
  "prompt",
  "negative_prompt",
  "seed",
  "backend",
  "params",
  "scores",
  "kept",
  "reasons",
] as const;
