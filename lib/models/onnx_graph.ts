/**
 * A minimal ONNX graph writer over `onnx-proto`: float and int64 initializers, nodes with int,
 * float, ints and string attributes, and a model serialised as bytes that onnxruntime loads
 * directly (`InferenceSession.create(bytes)`). Used to build face-api's SSD as an ONNX graph from
 * its TF.js weights at load time (`faces/ssd_onnx.ts`) and the tiny test models
 * (`tests/fixtures_models.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FLOAT, onnxGraph } from "./onnx_graph.ts";
 * const g = onnxGraph();
 * const y = g.op("Relu", ["x"], {}, "y");
 * const bytes = g.encode([{ name: "x", type: FLOAT, dims: [2] }], [{ name: y, type: FLOAT, dims: [2] }]);
 * assert.ok(bytes.length > 20);
 * ```
 * @module
 */
import onnxPkg from "onnx-proto";

// deno-lint-ignore no-explicit-any
const onnx: any = (onnxPkg as any).onnx;

/** ONNX element types used here. */
export const FLOAT = 1, INT64 = 7;

/** An attribute value, tagged with its ONNX kind. */
export type Attr = { i: number } | { f: number } | { ints: number[] } | { s: string };

/** A graph input or output: name, element type, dims (strings are symbolic). */
export interface IoSpec {
  name: string;
  type: number;
  dims: (number | string)[];
}

/** A minimal ONNX graph writer over `onnx-proto`. */
export class OnnxGraph {
  readonly nodes: unknown[] = [];
  readonly inits: unknown[] = [];
  #n = 0;

  /** Adds a float initializer (weights) and returns its name. */
  weight(name: string, dims: number[], data: Float32Array): string {
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`${name}: size mismatch`);
    this.inits.push({
      name,
      dims,
      dataType: FLOAT,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    return name;
  }

  /** Adds an int64 initializer (shapes, axes, indices) and returns its name. */
  ints(name: string, values: number[], dims: number[] = [values.length]): string {
    const b = new BigInt64Array(values.map(BigInt));
    this.inits.push({ name, dims, dataType: INT64, rawData: new Uint8Array(b.buffer) });
    return name;
  }

  /** Adds a node; returns its output name (or names when `outputs` > 1 or given). */
  op(type: string, inputs: string[], attrs: Record<string, Attr> = {}, output?: string): string {
    const out = output ?? `${type.toLowerCase()}_${this.#n++}`;
    const attribute = Object.entries(attrs).map(([name, a]) => {
      if ("i" in a) return { name, type: 2, i: a.i };
      if ("f" in a) return { name, type: 1, f: a.f };
      if ("ints" in a) return { name, type: 7, ints: a.ints };
      return { name, type: 3, s: new TextEncoder().encode(a.s) };
    });
    this.nodes.push({ opType: type, input: inputs, output: [out], name: `n${this.nodes.length}`, attribute });
    return out;
  }

  /** Serialises the graph as an ONNX model (IR 8, default-domain opset `opset`). */
  encode(inputs: IoSpec[], outputs: IoSpec[], opset = 17): Uint8Array {
    const vi = (s: IoSpec) => ({
      name: s.name,
      type: {
        tensorType: {
          elemType: s.type,
          shape: { dim: s.dims.map((d) => typeof d === "number" ? { dimValue: d } : { dimParam: d }) },
        },
      },
    });
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: "winnow",
      opsetImport: [{ domain: "", version: opset }],
      graph: {
        name: "g",
        node: this.nodes,
        initializer: this.inits,
        input: inputs.map(vi),
        output: outputs.map(vi),
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

/** Shorthand: a new {@link OnnxGraph}. */
export function onnxGraph(): OnnxGraph {
  return new OnnxGraph();
}
