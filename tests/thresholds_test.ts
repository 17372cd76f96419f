import assert from "node:assert/strict";
import { join } from "node:path";
import { applyRules, loadThresholds, parseThresholds, saveThresholds } from "../lib/score/rules.ts";

Deno.test("rules fail below min and above max, pass at the bounds, and list each error type once", () => {
  const rules = [
    { column: "laplacian_var", min: 10, error_type: "blur" },
    { column: "tenengrad", min: 100, error_type: "blur" },
    { column: "dark_frac", max: 0.6, error_type: "underexposed" },
  ];
  assert.deepEqual(applyRules({ laplacian_var: 10, tenengrad: 100, dark_frac: 0.6 }, rules).reasons, []);
  const v = applyRules({ laplacian_var: 9.99, tenengrad: 5, dark_frac: 0.61 }, rules);
  assert.equal(v.kept, false);
  assert.deepEqual(v.reasons, ["blur", "underexposed"]);
  assert.deepEqual(v.checks.map((c) => c.passed), [false, false, false]);
});

Deno.test("an empty value is not applicable: neither passes nor fails", () => {
  const v = applyRules({ skin_region_ratio: null }, [{
    column: "skin_region_ratio",
    min: 0.1,
    error_type: "x",
  }]);
  assert.equal(v.kept, true);
  assert.equal(v.checks[0].passed, null);
});

Deno.test("an unreadable image is never kept", () => {
  const v = applyRules({ error: "a.png: empty: …" }, [{
    column: "laplacian_var",
    min: 1,
    error_type: "blur",
  }]);
  assert.deepEqual([v.kept, v.reasons], [false, ["unreadable"]]);
});

Deno.test("thresholds files round-trip and bad ones name the file, rule and field", async () => {
  const tmp = await Deno.makeTempDir();
  const f = join(tmp, "t.json");
  await saveThresholds(f, [{ column: "laplacian_var", min: 42, error_type: "blur", source: "test" }], {
    auc: 0.9,
  });
  const rules = await loadThresholds(f);
  assert.equal(rules[0].min, 42);
  assert.equal(JSON.parse(await Deno.readTextFile(f)).auc, 0.9);
  assert.throws(() => parseThresholds({}, "t.json"), /t\.json: expected an object with a "rules" array/);
  assert.throws(
    () => parseThresholds({ rules: [{ column: "a", error_type: "b", min: "x" }] }, "t.json"),
    /t\.json: rules\[0\]\.min: expected a finite number, got "x"/,
  );
  assert.throws(
    () => parseThresholds({ rules: [{ column: "a", error_type: "b" }] }, "t.json"),
    /needs "min" or "max"/,
  );
  assert.throws(
    () => parseThresholds({ rules: [{ min: 1, error_type: "b" }] }, "t.json"),
    /rules\[0\]\.column/,
  );
  await Deno.writeTextFile(f, "{ not json");
  await assert.rejects(loadThresholds(f), /t\.json: not valid JSON/);
});
