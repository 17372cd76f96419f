/** LPIPS loading and input scaling, on a tiny ONNX with LPIPS' signature built here. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeImage } from "../lib/core/image.ts";
import { loadLpips, LPIPS_FILE } from "../lib/evaluate/lpips.ts";
import { ModelNotFoundError } from "../lib/models/store.ts";
import { tinyLpips } from "./fixtures_models.ts";
import { REFERENCE_DIR } from "./golden.ts";

Deno.test("lpips: loads from the store; inputs scaled to [-1, 1] NCHW; distance recomputed here; errors name the file", async () => {
  const store = await Deno.makeTempDir();
  await assert.rejects(
    () => loadLpips({ modelsDir: store }),
    (e: Error) => e instanceof ModelNotFoundError && e.message.includes(join(store, LPIPS_FILE)),
  );
  const { onnx, w } = tinyLpips();
  await Deno.mkdir(join(store, "lpips"));
  await Deno.writeFile(join(store, LPIPS_FILE), onnx);
  const lp = await loadLpips({ modelsDir: store });
  const a = await decodeImage(`${REFERENCE_DIR}images/facephoto1.png`);
  const b = await decodeImage(`${REFERENCE_DIR}images/pairs/facephoto1__gauss3.png`);
  assert.equal(await lp.distance(a, a), 0);
  // The fixture: mean over pixels of Σ_c w_c (a/127.5 − b/127.5)², i.e. the scaling to [−1, 1].
  let s = 0;
  for (let i = 0; i < a.width * a.height; i++) {
    for (let c = 0; c < 3; c++) s += w[c] * ((a.data[i * 3 + c] - b.data[i * 3 + c]) / 127.5) ** 2;
  }
  const want = s / (a.width * a.height);
  const got = await lp.distance(a, b);
  // float32 sums over 273k pixels inside onnxruntime: 1e-4 relative (a 0–1 or 0–255 input would be off 4× or more).
  assert.ok(Math.abs(got - want) <= 1e-4 * want, `${got} vs ${want}`);
  const small = { width: 2, height: 2, data: new Uint8Array(12) };
  await assert.rejects(() => lp.distance(a, small), /differ in size/);
});
