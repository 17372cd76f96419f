import assert from "node:assert/strict";
import { headroomByError } from "../lib/calibrate/headroom.ts";
import { usableCurves } from "../lib/calibrate/validity.ts";

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

Deno.test("usableCurves: headroom of the out-of-fold usable score on the shipped labels, rejects counted from images.csv", async () => {
  const uc = await usableCurves({ resamples: 20 });
  const counts = new Map<string, number>();
  const csv = await Deno.readTextFile(new URL("../data/labels/images.csv", import.meta.url));
  for (const line of csv.trim().split("\n").slice(1)) {
    const [, usable, , errors] = line.split(",");
    if (usable === "no") {
      for (const e of errors.split(";").filter(Boolean)) counts.set(e, (counts.get(e) ?? 0) + 1);
    }
  }
  assert.deepEqual(
    Object.fromEntries(uc.headroom.map((h) => [h.error, h.rejects])),
    Object.fromEntries(counts),
  );
  const oof = uc.curves.find((c) => c.outOfFold)!;
  // Regression check against the shipped scorer file's own out-of-fold AUC (same folds and seed).
  const shipped = JSON.parse(await Deno.readTextFile(new URL("../data/models/usable.json", import.meta.url)));
  assert.ok(Math.abs(oof.auc - shipped.provenance.outOfFold.auc) < 1e-9, `${oof.auc}`);
  for (const h of uc.headroom) {
    assert.ok(h.auc >= oof.auc && h.auc <= 1 && Math.abs(h.gain - (h.auc - oof.auc)) < 1e-12);
  }
  assert.deepEqual(uc.headroom.map((h) => h.gain), uc.headroom.map((h) => h.gain).sort((a, b) => b - a));
});
