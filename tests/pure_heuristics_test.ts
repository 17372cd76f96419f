import assert from "node:assert/strict";
import { GOLDEN, REFERENCE_DIR, relErr } from "./golden.ts";
import { decodeImage } from "../lib/core/image.ts";
import { scoreImage } from "../lib/score/score_image.ts";

const cases = Object.entries(GOLDEN.images);

for (const [file, want] of cases) {
  Deno.test(`${file}: pure heuristics match OpenCV golden values`, async () => {
    const img = await decodeImage(`${REFERENCE_DIR}images/${file}`);
    assert.equal(img.width, want.width);
    assert.equal(img.height, want.height);
    const v =
      (await scoreImage(img, { heuristics: ["sharpness", "exposure", "colorfulness", "skin"] })).values;
    for (const col of ["gray_mean", "laplacian_var", "tenengrad", "colorfulness"] as const) {
      const got = v[col] as number;
      const ok = want[col] === 0 ? Math.abs(got) <= 1e-9 : relErr(got, want[col]) <= 1e-9;
      assert.ok(ok, `${col}: got ${got}, golden ${want[col]}`);
    }
    assert.ok(
      Math.abs((v.skin_ratio as number) - want.skin_ratio) <= 1e-3,
      `skin_ratio: got ${v.skin_ratio}, golden ${want.skin_ratio}`,
    );
  });
}
