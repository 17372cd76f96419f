import assert from "node:assert/strict";
import { collectGarbage, everyNth, releaseBytes } from "../lib/core/gc.ts";

Deno.test("collectGarbage: a full collection frees buffers no longer referenced", () => {
  assert.equal(collectGarbage(), true);
  const before = Deno.memoryUsage().external;
  let junk: Uint8Array[] | undefined = Array.from({ length: 64 }, () => new Uint8Array(1 << 16).fill(1));
  assert.ok(Deno.memoryUsage().external >= before + 64 * (1 << 16) * 0.9);
  junk = undefined;
  assert.equal(junk, undefined);
  collectGarbage();
  assert.ok(Deno.memoryUsage().external < before + 64 * (1 << 16) * 0.5);
});

Deno.test("releaseBytes: frees a buffer that is all its own at once, leaves shared ones alone", () => {
  const own = new Uint8Array(1 << 20).fill(7);
  const external = Deno.memoryUsage().external;
  assert.equal(releaseBytes(own), true);
  assert.equal(own.length, 0);
  assert.ok(Deno.memoryUsage().external <= external - (1 << 20) * 0.9, "the megabyte is gone without a GC");
  const buffer = new ArrayBuffer(16), part = new Uint8Array(buffer, 8);
  assert.equal(releaseBytes(part), false);
  assert.equal(part.length, 8);
  assert.equal(releaseBytes(new Uint8Array(buffer, 0, 8)), false);
  const wasm = new WebAssembly.Memory({ initial: 1 });
  assert.equal(releaseBytes(new Uint8Array(wasm.buffer)), false);
  assert.equal(wasm.buffer.byteLength, 65536);
});

Deno.test("everyNth: collects on every n-th call only", () => {
  const tick = everyNth(4);
  assert.deepEqual(Array.from({ length: 9 }, () => tick()), [
    false,
    false,
    false,
    true,
    false,
    false,
    false,
    true,
    false,
  ]);
});
