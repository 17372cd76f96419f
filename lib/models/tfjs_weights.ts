/**
 * Reads a TF.js weights manifest (`*-weights_manifest.json`, or the `weightsManifest` of a
 * `model.json`) and its binary shards without TF.js: every tensor by name, as Float32Array (or
 * Int32Array for int32 tensors), dequantized exactly as TF.js' `io.decodeWeights` does
 * (`value = q · scale + min` for uint8/uint16 quantization, computed in double and stored as
 * float32). A missing, unreadable, truncated or malformed file is a {@link ModelFileError}
 * naming it.
 *
 * @module
 */
import { join } from "node:path";
import { ModelFileError } from "./store.ts";

/** One tensor of a TF.js weights manifest. */
export interface TfjsTensor {
  name: string;
  shape: number[];
  dtype: "float32" | "int32";
  data: Float32Array | Int32Array;
}

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

interface ManifestGroup {
  paths: string[];
  weights: ManifestEntry[];
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2 };

/**
 * Every tensor of the TF.js weights manifest `manifestFile` in `dir`, by name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readTfjsWeights } from "./tfjs_weights.ts";
 * import { ModelFileError } from "./store.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/m.json`, JSON.stringify([{ paths: ["m.bin"], weights: [
 *   { name: "w", shape: [2], dtype: "float32", quantization: { dtype: "uint8", scale: 0.5, min: -1 } },
 * ] }]));
 * await Deno.writeFile(`${dir}/m.bin`, new Uint8Array([0, 4]));
 * assert.deepEqual([...(await readTfjsWeights(dir, "m.json")).get("w")!.data], [-1, 1]);
 * await Deno.writeFile(`${dir}/m.bin`, new Uint8Array([0]));
 * await assert.rejects(readTfjsWeights(dir, "m.json"), ModelFileError);
 * ```
 */
export async function readTfjsWeights(dir: string, manifestFile: string): Promise<Map<string, TfjsTensor>> {
  const manifestPath = join(dir, manifestFile);
  const groups = parseManifest(manifestPath, await readText(manifestPath));
  const out = new Map<string, TfjsTensor>();
  for (const g of groups) {
    const shards: Uint8Array[] = [];
    for (const p of g.paths) shards.push(await readBytes(join(dir, p)));
    const bytes = concat(shards);
    const shardName = join(dir, g.paths.join(", "));
    let offset = 0;
    for (const w of g.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const q = w.quantization;
      const stored = q ? q.dtype : w.dtype;
      const size = BYTES[stored];
      if (!size || (w.dtype !== "float32" && w.dtype !== "int32")) {
        throw new ModelFileError(
          manifestPath,
          `tensor ${w.name}: dtype ${w.dtype} stored as ${stored} is not supported`,
        );
      }
      if (
        q && (q.dtype === "uint8" || q.dtype === "uint16") &&
        !(Number.isFinite(q.scale) && Number.isFinite(q.min))
      ) {
        throw new ModelFileError(
          manifestPath,
          `tensor ${w.name}: ${q.dtype} quantization without min and scale`,
        );
      }
      const end = offset + n * size;
      if (end > bytes.length) {
        throw new ModelFileError(
          shardName,
          `truncated: tensor ${w.name} needs bytes ${offset}–${end}, the file has ${bytes.length}`,
        );
      }
      const raw = bytes.slice(offset, end);
      offset = end;
      let values: ArrayLike<number>;
      if (stored === "uint8") values = raw;
      else if (stored === "uint16") values = new Uint16Array(raw.buffer);
      else if (stored === "int32") values = new Int32Array(raw.buffer);
      else values = new Float32Array(raw.buffer);
      let data: Float32Array | Int32Array;
      if (q && (q.dtype === "uint8" || q.dtype === "uint16")) {
        const scale = q.scale!, min = q.min!;
        data = w.dtype === "int32" ? new Int32Array(n) : new Float32Array(n);
        for (let i = 0; i < n; i++) {
          const v = values[i] * scale + min;
          data[i] = w.dtype === "int32" ? Math.round(v) : v;
        }
      } else {
        data = w.dtype === "int32" ? Int32Array.from(values) : Float32Array.from(values);
      }
      out.set(w.name, { name: w.name, shape: w.shape, dtype: w.dtype as "float32" | "int32", data });
    }
    if (offset !== bytes.length) {
      throw new ModelFileError(shardName, `has ${bytes.length} bytes, the manifest describes ${offset}`);
    }
  }
  return out;
}

function parseManifest(file: string, text: string): ManifestGroup[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ModelFileError(file, `not valid JSON: ${(e as Error).message}`);
  }
  const groups = Array.isArray(json) ? json : (json as { weightsManifest?: unknown })?.weightsManifest;
  const ok = Array.isArray(groups) &&
    groups.every((g) =>
      Array.isArray(g?.paths) && g.paths.every((p: unknown) => typeof p === "string") &&
      Array.isArray(g?.weights) &&
      g.weights.every((w: ManifestEntry) =>
        typeof w?.name === "string" && Array.isArray(w.shape) &&
        w.shape.every((d) => Number.isInteger(d) && d >= 0) && typeof w.dtype === "string"
      )
    );
  if (!ok) throw new ModelFileError(file, "not a TF.js weights manifest (groups of paths and weights)");
  return groups as ManifestGroup[];
}

async function readText(file: string): Promise<string> {
  return new TextDecoder().decode(await readBytes(file));
}

async function readBytes(file: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(file);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "not found" : `unreadable: ${(e as Error).message}`;
    throw new ModelFileError(file, `model file ${why}`);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), o += p.length;
  return out;
}
