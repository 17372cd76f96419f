import assert from "node:assert/strict";
import { headroomByError } from "../lib/calibrate/headroom.ts";

Deno.test("headroomByError: AUC per error type with its rejects ranked last, counted by hand", () => {
  // Kept (1): 0.8, 0.6, 0.3. Rejected (0): 0.7 [text], 0.4 [text, artifact], 0.2 [artifact], 0.9 [].
  const y = [1, 1, 1, 0, 0, 0, 0];
  const s = [0.8, 0.6, 0.3, 0.7, 0.4, 0.2, 0.9];
  const e = [[], [], [], ["garbled_text"], ["garbled_text", "artifact"], ["artifact"], []];
  const h = headroomByError(y, s, e);
  // Ordered (kept above reject) pairs of 12: 0.7 < 0.8 only (1); 0.4 < 0.8, 0.6 (2); 0.2 < all (3); 0.9 none.
  assert.equal(h.auc, 6 / 12);
  // garbled_text caught: 0.7 and 0.4 go last: 3 + 3 + 3 = 9. artifact caught: 0.4, 0.2 last: 1 + 3 + 3 = 7.
  assert.deepEqual(h.errors, [
    { error: "garbled_text", rejects: 2, auc: 9 / 12, gain: 9 / 12 - 6 / 12 },
    { error: "artifact", rejects: 2, auc: 7 / 12, gain: 7 / 12 - 6 / 12 },
  ]);
});

Deno.test("headroomByError: an error type named only by kept images has no headroom line; ties count half", () => {
  const h = headroomByError([1, 0, 1, 0], [0.5, 0.5, 0.9, 0.1], [["blur"], ["other"], [], []]);
  // Pairs: (0.5, 0.5) tie = 0.5, (0.5, 0.1) 1, (0.9, 0.5) 1, (0.9, 0.1) 1 → 3.5 / 4.
  assert.equal(h.auc, 3.5 / 4);
  assert.deepEqual(h.errors.map((x) => [x.error, x.rejects, x.auc]), [["other", 1, 1]]);
});

Deno.test("headroomByError: lengths that differ are an error naming them", () => {
  assert.throws(() => headroomByError([1, 0], [0.1], [[], []]), /2 labels, 1 scores and 2 error lists/);
});
