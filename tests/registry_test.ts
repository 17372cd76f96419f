import assert from "node:assert/strict";
import { HEURISTICS, resolveHeuristics } from "../lib/heuristics/registry.ts";
import { ImageContext } from "../lib/heuristics/types.ts";
import { scoreColumns } from "../lib/score/batch.ts";

const DIRECTIONS = ["higher_is_better", "lower_is_better", "neither"];

Deno.test("every heuristic declares a unique name, outputs with unit and direction, and an error type", () => {
  assert.equal(new Set(HEURISTICS.map((h) => h.name)).size, HEURISTICS.length);
  for (const h of HEURISTICS) {
    assert.match(h.name, /^[a-z][a-z0-9_]*$/, h.name);
    assert.ok(h.description.length > 20, `${h.name}: description`);
    assert.match(h.errorType, /^[a-z][a-z_]*$/, `${h.name}: errorType`);
    assert.ok(h.outputs.length > 0, `${h.name}: outputs`);
    for (const o of h.outputs) {
      assert.match(o.name, /^[a-z][a-z0-9_]*$/, o.name);
      assert.ok(o.unit && o.description, `${o.name}: unit and description`);
      assert.ok(DIRECTIONS.includes(o.direction), `${o.name}: direction ${o.direction}`);
    }
    for (const t of h.thresholds) {
      assert.ok(h.outputs.some((o) => o.name === t.output), `${h.name}: threshold on undeclared ${t.output}`);
      assert.ok(t.min !== undefined || t.max !== undefined, `${h.name}: threshold without bound`);
      assert.ok(t.source.length > 5, `${h.name}: threshold source`);
    }
  }
});

Deno.test("output columns are unique across heuristics and do not clash with the base columns", () => {
  const names = scoreColumns(HEURISTICS, true).map((c) => c.name);
  assert.equal(new Set(names).size, names.length, names.join(","));
});

Deno.test("compute returns exactly the declared outputs, of the declared type", async () => {
  const w = 37, h = 23;
  const data = new Uint8Array(w * h * 3).map((_, i) => (i * 7919) % 251);
  // These need a prompt and a model store or a server; tests/clip_test.ts, preference_test.ts and
  // probe_test.ts check their outputs against their declarations with fixture models.
  const needsSettings = ["clip_score", "pick_score", "aesthetic", "probe"];
  for (const heuristic of HEURISTICS.filter((h) => !needsSettings.includes(h.name))) {
    const v = await heuristic.compute(new ImageContext({ width: w, height: h, data }));
    assert.deepEqual(Object.keys(v).sort(), heuristic.outputs.map((o) => o.name).sort(), heuristic.name);
    for (const o of heuristic.outputs) {
      if (v[o.name] !== null) assert.equal(typeof v[o.name], o.type ?? "number", `${o.name}`);
    }
  }
});

Deno.test("resolveHeuristics keeps registry order and rejects unknown names with the known ones listed", () => {
  const names = HEURISTICS.map((h) => h.name);
  assert.deepEqual(resolveHeuristics([...names].reverse()).map((h) => h.name), names);
  assert.throws(
    () => resolveHeuristics(["nope"]),
    new RegExp(`unknown heuristic "nope"; known: ${names.join(", ")}`),
  );
});
