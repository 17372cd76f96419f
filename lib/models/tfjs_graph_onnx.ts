/**
 * A TF.js graph model (`model.json` with a `modelTopology` of TensorFlow nodes, weights in its
 * `weightsManifest`) rewritten as an ONNX graph, for the few ops small convolutional detectors use:
 * `Placeholder`, `Const`, `_FusedConv2D` (BiasAdd, optional Relu), `Conv2D`,
 * `DepthwiseConv2dNative`, `AddV2`/`Add`, `Relu`, `Relu6`, `MaxPool`, `Pad`, `Reshape` and
 * `Identity`. TensorFlow's NHWC tensors become ONNX's NCHW (filters and paddings permuted; a
 * transpose back to NHWC before each `Reshape`), TF's "SAME" padding ONNX's `SAME_UPPER`. The graph
 * input is NCHW; outputs are the graph's sink nodes, in node order, declared rank 3 (a detector's
 * `[1, boxes, values]` heads). Any other op is a
 * {@link ModelFileError} naming it.
 *
 * @module
 */
import { FLOAT, onnxGraph } from "./onnx_graph.ts";
import { readTfjsWeights } from "./tfjs_weights.ts";
import { ModelFileError } from "./store.ts";
import { join } from "node:path";

interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, { s?: string; i?: string; list?: { i?: string[]; s?: string[] }; shape?: unknown }>;
}

/** An ONNX model converted from a TF.js graph model, with its input and output names. */
export interface ConvertedGraph {
  bytes: Uint8Array;
  input: string;
  /** Output names (the TF graph's sink nodes), in node order. */
  outputs: string[];
}

const decode = (
  s?: string,
) => (s ? new TextDecoder().decode(Uint8Array.from(atob(s), (c) => c.charCodeAt(0))) : "");

/**
 * Reads `modelFile` (a TF.js graph `model.json`) and its weights in `dir`, and converts it for an
 * NCHW input of `[1, channels, height, width]`.
 *
 * @example
 * ```ts ignore
 * import { tfjsGraphToOnnx } from "./tfjs_graph_onnx.ts";
 * const g = await tfjsGraphToOnnx("node_modules/@vladmandic/human/models", "blazeface.json", [1, 3, 256, 256]);
 * ```
 */
export async function tfjsGraphToOnnx(
  dir: string,
  modelFile: string,
  inputDims: number[],
): Promise<ConvertedGraph> {
  const file = join(dir, modelFile);
  const weights = await readTfjsWeights(dir, modelFile);
  let json: { modelTopology?: { node?: TfNode[] } };
  try {
    json = JSON.parse(await Deno.readTextFile(file));
  } catch (e) {
    throw new ModelFileError(file, `not a TF.js graph model: ${(e as Error).message}`);
  }
  const nodes = json.modelTopology?.node;
  if (!Array.isArray(nodes)) {
    throw new ModelFileError(file, "no modelTopology.node list: not a TF.js graph model");
  }
  const consumed = new Set(nodes.flatMap((n) => (n.input ?? []).map((i) => i.split(":")[0])));
  const g = onnxGraph();
  const value = new Map<string, string>(); // TF node → ONNX value name
  let input = "";
  const constData = (name: string) => {
    const w = weights.get(name);
    if (!w) throw new ModelFileError(file, `weight ${name} is missing from the weights manifest`);
    return w;
  };
  const attrInts = (n: TfNode, k: string) => (n.attr?.[k]?.list?.i ?? []).map(Number);
  const padding = (n: TfNode) => decode(n.attr?.padding?.s) === "VALID" ? "VALID" : "SAME_UPPER";
  const filter = (name: string, depthwise: boolean): string => {
    const w = constData(name);
    const [kh, kw, cin, cout] = w.shape;
    const src = w.data as Float32Array;
    // TF [kh, kw, in, out] → ONNX [out, in, kh, kw]; depthwise [kh, kw, C, mult] → [C·mult, 1, kh, kw].
    const o = new Float32Array(src.length);
    for (let y = 0; y < kh; y++) {
      for (let x = 0; x < kw; x++) {
        for (let i = 0; i < cin; i++) {
          for (let c = 0; c < cout; c++) {
            const from = ((y * kw + x) * cin + i) * cout + c;
            o[depthwise ? (((i * cout + c) * kh + y) * kw + x) : (((c * cin + i) * kh + y) * kw + x)] =
              src[from];
          }
        }
      }
    }
    return g.weight(`${name}__onnx`, depthwise ? [cin * cout, 1, kh, kw] : [cout, cin, kh, kw], o);
  };
  const inputOf = (n: TfNode, k: number) => {
    const name = (n.input ?? [])[k]?.split(":")[0];
    const v = name === undefined ? undefined : value.get(name);
    if (v === undefined) {
      throw new ModelFileError(file, `node ${n.name}: input ${k} (${name}) is not computed`);
    }
    return v;
  };
  for (const n of nodes) {
    const conv = (depthwise: boolean, withBias: boolean) => {
      const [, sh, sw] = attrInts(n, "strides");
      const w = constData((n.input ?? [])[1]);
      const args = [inputOf(n, 0), filter((n.input ?? [])[1], depthwise)];
      if (withBias) {
        const b = constData((n.input ?? [])[2]);
        args.push(g.weight(`${b.name}__onnx`, [b.data.length], Float32Array.from(b.data)));
      }
      return g.op("Conv", args, {
        kernel_shape: { ints: [w.shape[0], w.shape[1]] },
        strides: { ints: [sh || 1, sw || 1] },
        auto_pad: { s: padding(n) },
        group: { i: depthwise ? w.shape[2] : 1 },
      });
    };
    switch (n.op) {
      case "Const":
        break; // read where used
      case "Placeholder":
        input = n.name;
        value.set(n.name, n.name);
        break;
      case "_FusedConv2D": {
        const ops = (n.attr?.fused_ops?.list?.s ?? []).map(decode);
        if (ops[0] !== "BiasAdd" || ops.length > 2 || (ops[1] && ops[1] !== "Relu" && ops[1] !== "Relu6")) {
          throw new ModelFileError(file, `node ${n.name}: fused ops ${ops.join(", ")} are not supported`);
        }
        let y = conv(false, true);
        if (ops[1] === "Relu") y = g.op("Relu", [y]);
        if (ops[1] === "Relu6") {
          y = g.op("Clip", [
            y,
            g.weight(`${n.name}__0`, [], new Float32Array([0])),
            g.weight(`${n.name}__6`, [], new Float32Array([6])),
          ]);
        }
        value.set(n.name, y);
        break;
      }
      case "Conv2D":
        value.set(n.name, conv(false, false));
        break;
      case "DepthwiseConv2dNative":
        value.set(n.name, conv(true, false));
        break;
      case "AddV2":
      case "Add":
        value.set(n.name, g.op("Add", [inputOf(n, 0), inputOf(n, 1)]));
        break;
      case "Relu":
        value.set(n.name, g.op("Relu", [inputOf(n, 0)]));
        break;
      case "Relu6":
        value.set(
          n.name,
          g.op("Clip", [
            inputOf(n, 0),
            g.weight(`${n.name}__0`, [], new Float32Array([0])),
            g.weight(`${n.name}__6`, [], new Float32Array([6])),
          ]),
        );
        break;
      case "MaxPool": {
        const [, kh, kw] = attrInts(n, "ksize"), [, sh, sw] = attrInts(n, "strides");
        value.set(
          n.name,
          g.op("MaxPool", [inputOf(n, 0)], {
            kernel_shape: { ints: [kh, kw] },
            strides: { ints: [sh, sw] },
            auto_pad: { s: padding(n) },
          }),
        );
        break;
      }
      case "Pad": {
        const p = Array.from(constData((n.input ?? [])[1]).data); // NHWC [[n0, n1], [h0, h1], [w0, w1], [c0, c1]]
        const pads = g.ints(`${n.name}__pads`, [p[0], p[6], p[2], p[4], p[1], p[7], p[3], p[5]]);
        value.set(n.name, g.op("Pad", [inputOf(n, 0), pads], { mode: { s: "constant" } }));
        break;
      }
      case "Reshape": {
        const shape = Array.from(constData((n.input ?? [])[1]).data);
        const nhwc = g.op("Transpose", [inputOf(n, 0)], { perm: { ints: [0, 2, 3, 1] } });
        value.set(n.name, g.op("Reshape", [nhwc, g.ints(`${n.name}__shape`, shape)]));
        break;
      }
      case "Identity":
        value.set(n.name, g.op("Identity", [inputOf(n, 0)]));
        break;
      default:
        throw new ModelFileError(file, `node ${n.name}: op ${n.op} is not supported by the ONNX conversion`);
    }
  }
  if (!input) throw new ModelFileError(file, "no Placeholder input node");
  const sinks = nodes.filter((n) => n.op !== "Const" && n.op !== "Placeholder" && !consumed.has(n.name));
  const outputs: string[] = [];
  for (const s of sinks) {
    const out = `${s.name}__out`;
    g.op("Identity", [value.get(s.name)!], {}, out);
    outputs.push(out);
  }
  const bytes = g.encode(
    [{ name: input, type: FLOAT, dims: inputDims }],
    // Declared rank 3 ([1, boxes, values]: what a detector's Reshape heads give); checked by the caller.
    outputs.map((name) => ({ name, type: FLOAT, dims: ["batch", "boxes", "values"] })),
  );
  return { bytes, input, outputs };
}
