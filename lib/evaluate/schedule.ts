/**
 * Where the next A/B comparison is most useful: the pair of systems whose order is least certain.
 *
 * @module
 */
import type { AbScheduler } from "../labels/app/ab.ts";
import { fitBradleyTerry } from "./preference.ts";

/**
 * A scheduler for the labeling app's A/B mode that spends comparisons where the ranking is
 * uncertain. From the choices so far it fits Bradley–Terry strengths (with one virtual tie per
 * system against an average one, so early fits stay finite) and, for every pair of systems with an
 * open pair of images, how surely their order is known: z = |2p − 1| · √(nᵢⱼ + 1), with p the
 * fitted chance that i beats j (which borrows from comparisons with third systems) and nᵢⱼ their
 * direct comparisons so far — the score statistic of "i and j are equal" at the fitted p. (The
 * Wald statistic |sᵢ − sⱼ|·√(n p(1 − p)) would shrink for clearly separated systems and send
 * comparisons there.) The pair of systems with the smallest z — never compared, or close and little
 * compared — gets the next comparison; among its open image pairs one is drawn at random. With two
 * systems every step compares them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { uncertaintyScheduler } from "./schedule.ts";
 * const pair = (i: number, a: number, b: number) => ({ id: String(i), prompt: "", a: { system: a }, b: { system: b } });
 * const pairs = [pair(0, 0, 1), pair(1, 0, 2), pair(2, 1, 2), pair(3, 0, 1)] as never;
 * // systems 0 and 1 compared 3 times, 0 won every time; 0–2 and 1–2 never: one of those goes next
 * const d = [0, 0, 0].map(() => ({ pair: "0", left_system: "x", right_system: "y", choice: "left" })) as never;
 * const next = uncertaintyScheduler({ systems: ["x", "y", "z"], pairs, decisions: d, open: [1, 2, 3], random: () => 0 });
 * assert.ok(next === 1 || next === 2);
 * ```
 */
export const uncertaintyScheduler: AbScheduler = (ctx) => {
  const k = ctx.systems.length;
  const idx = new Map(ctx.systems.map((s, i) => [s, i]));
  const count = new Float64Array(k * k);
  const comps: [number, number, number][] = [];
  for (const d of ctx.decisions) {
    if (d.choice === "skip") continue;
    const i = idx.get(d.left_system), j = idx.get(d.right_system);
    if (i === undefined || j === undefined) continue;
    count[i * k + j]++;
    count[j * k + i]++;
    comps.push([i, j, d.choice === "left" ? 1 : d.choice === "right" ? 0 : 0.5]);
  }
  const s = new Float64Array(k);
  if (comps.length) {
    const fit = fitBradleyTerry(comps, { prior: 1, tolerance: 1e-8 });
    fit.systems.forEach((sys, i) => (s[sys] = fit.logStrength[i]));
  }
  const bySystems = new Map<number, number[]>();
  for (const i of ctx.open) {
    const p = ctx.pairs[i];
    const key = Math.min(p.a.system, p.b.system) * k + Math.max(p.a.system, p.b.system);
    bySystems.set(key, [...(bySystems.get(key) ?? []), i]);
  }
  let best = Infinity, bestN = Infinity, choice: number[] = [];
  for (const [key, list] of bySystems) {
    const i = Math.floor(key / k), j = key % k;
    const n = count[key];
    const p = 1 / (1 + Math.exp(s[j] - s[i]));
    const z = Math.abs(2 * p - 1) * Math.sqrt(n + 1);
    if (z < best - 1e-12 || (Math.abs(z - best) <= 1e-12 && n < bestN)) best = z, bestN = n, choice = list;
  }
  return choice[Math.floor(ctx.random() * choice.length)];
};
