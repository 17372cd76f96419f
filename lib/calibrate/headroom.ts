/**
 * Headroom per error type: how far would a scorer's ROC AUC rise if every rejected image naming one
 * error type were caught? Hand labels name what is wrong with a rejected image (`errors`:
 * garbled_text, merged_objects, artifact, …); ranking those images below every other image, and
 * leaving the rest where the scorer put them, gives the AUC of a scorer with a perfect detector of
 * that error type added. It says which error type is worth a new signal, and how high the AUC can go
 * without one for the others — errors counted and tackled one by one.
 *
 * @module
 */
import { rocAucScore } from "./metrics.ts";

/** One error type's headroom. */
export interface ErrorHeadroom {
  /** The error type. */
  error: string;
  /** Rejected images (label 0) that name it. */
  rejects: number;
  /** AUC with those images ranked below every other image. */
  auc: number;
  /** `auc` minus the scorer's own AUC. */
  gain: number;
}

/**
 * The scorer's AUC, and per error type named by a rejected image the AUC if those images were all
 * caught (sorted by gain, largest first). `labels`: 1 = kept, 0 = rejected; `scores`: higher =
 * keep (e.g. out-of-fold `usable_score`); `errors[i]`: the error types of image i.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { headroomByError } from "./headroom.ts";
 * // kept 0.9, 0.2; rejected 0.5 (garbled text) and 0.1 (artifact): 3 of 4 pairs ordered, AUC 0.75.
 * const h = headroomByError([1, 1, 0, 0], [0.9, 0.2, 0.5, 0.1], [[], [], ["garbled_text"], ["artifact"]]);
 * assert.equal(h.auc, 0.75);
 * assert.deepEqual(h.errors.map((e) => [e.error, e.rejects, e.auc]), [["garbled_text", 1, 1], ["artifact", 1, 0.75]]);
 * ```
 */
export function headroomByError(
  labels: readonly (0 | 1 | number)[],
  scores: readonly number[],
  errors: readonly (readonly string[])[],
): { auc: number; errors: ErrorHeadroom[] } {
  if (labels.length !== scores.length || labels.length !== errors.length) {
    throw new RangeError(
      `headroomByError: ${labels.length} labels, ${scores.length} scores and ${errors.length} error lists`,
    );
  }
  const y = labels.map((v) => (v ? 1 : 0));
  const auc = rocAucScore(y, scores);
  const floor = Math.min(...scores) - 1;
  const types = [...new Set(errors.flatMap((e, i) => (y[i] ? [] : e)))];
  const out = types.map((error) => {
    const caught = errors.map((e, i) => !y[i] && e.includes(error));
    const a = rocAucScore(y, scores.map((s, i) => (caught[i] ? floor : s)));
    return { error, rejects: caught.filter(Boolean).length, auc: a, gain: a - auc };
  });
  out.sort((a, b) => b.gain - a.gain || b.rejects - a.rejects || a.error.localeCompare(b.error));
  return { auc, errors: out };
}
