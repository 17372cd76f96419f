/**
 * Shares of groups with their intervals against a reference: one bar per group (its share of the
 * faces counted), a 95 % interval as a line, the reference share as a black tick.
 *
 * @module
 */
import {
  DEFAULT_WIDTH,
  PlotError,
  type PlotOutput,
  type RenderOptions,
  renderPlot,
  type TopLevelSpec,
} from "./render.ts";

/** One group's share. */
export interface GroupShare {
  group: string;
  count: number;
  share: number;
  ci95: readonly [number, number];
  /** Reference share, drawn as a tick. */
  reference?: number;
}

/**
 * Bars of group shares (in the order given) with Wilson intervals and reference ticks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { groupSharePlot } from "./groups.ts";
 * const p = await groupSharePlot([
 *   { group: "female", count: 3, share: 0.3, ci95: [0.11, 0.6], reference: 0.5 },
 *   { group: "male", count: 7, share: 0.7, ci95: [0.4, 0.89], reference: 0.5 },
 * ], { title: "Perceived gender" });
 * assert.ok(p.svg.includes("Perceived gender"));
 * ```
 */
export async function groupSharePlot(
  groups: readonly GroupShare[],
  options: RenderOptions & { title?: string; width?: number } = {},
): Promise<PlotOutput> {
  if (groups.length === 0) throw new PlotError("groupSharePlot: no groups");
  const order = groups.map((g) => g.group);
  const values = groups.map((g) => ({
    group: g.group,
    share: Number.isFinite(g.share) ? g.share : 0,
    lo: Number.isFinite(g.ci95[0]) ? g.ci95[0] : 0,
    hi: Number.isFinite(g.ci95[1]) ? g.ci95[1] : 0,
    reference: g.reference ?? null,
    label: `${g.count}`,
  }));
  const x = {
    field: "group",
    type: "nominal",
    sort: order,
    title: null,
    axis: { labelAngle: 0, labelFontSize: 12 },
  };
  const spec = {
    title: options.title ?? "Share of faces per group (95 % Wilson interval; tick: reference)",
    width: options.width ?? Math.min(DEFAULT_WIDTH, 90 * groups.length),
    height: 220,
    data: { values },
    encoding: { x },
    layer: [
      {
        mark: { type: "bar", color: "#8fb3d9", width: { band: 0.7 } },
        encoding: {
          y: {
            field: "share",
            type: "quantitative",
            title: "share of faces",
            scale: { domain: [0, 1] },
            axis: { format: ".0%" },
          },
        },
      },
      {
        mark: { type: "rule", strokeWidth: 2, color: "#1f3b66" },
        encoding: { y: { field: "lo", type: "quantitative" }, y2: { field: "hi" } },
      },
      {
        mark: { type: "tick", color: "#111111", thickness: 2, size: 40 },
        encoding: { y: { field: "reference", type: "quantitative" } },
      },
      {
        mark: { type: "text", dy: -6, baseline: "bottom", fontSize: 10, color: "#333333" },
        encoding: { y: { field: "hi", type: "quantitative" }, text: { field: "label" } },
      },
    ],
  } as TopLevelSpec;
  return await renderPlot(spec, options);
}
