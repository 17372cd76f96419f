import assert from "node:assert/strict";
import { join } from "node:path";
import { StreamLengthError, writeAtomic, writeAtomicStream } from "../lib/core/atomic.ts";

/** A stream that gives `chunks` and then fails, as a connection that drops mid-body does. */
function breakingStream(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let i = 0;
  return new ReadableStream({
    pull(c) {
      if (i < chunks.length) c.enqueue(enc.encode(chunks[i++]));
      else c.error(new Error("connection reset"));
    },
  });
}

Deno.test("writeAtomicStream: a stream that breaks or ends short leaves the old file and no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "model.onnx");
    await writeAtomic(path, "old");
    await assert.rejects(writeAtomicStream(path, breakingStream(["new", "er"])), /connection reset/);
    const short = await writeAtomicStream(path, new Blob(["abc"]).stream(), { expectedBytes: 10 })
      .catch((e) => e);
    assert.ok(short instanceof StreamLengthError);
    assert.equal(short.received, 3);
    assert.equal(short.expected, 10);
    assert.match(short.message, /model\.onnx: received 3 of 10 bytes/);
    assert.equal(await Deno.readTextFile(path), "old");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["model.onnx"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeAtomicStream: many chunks arrive whole, in order; the count is returned", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "big.bin");
    const chunk = new Uint8Array(65_536).map((_, i) => i % 251);
    const stream = ReadableStream.from((function* () {
      for (let k = 0; k < 40; k++) yield chunk;
    })());
    const n = await writeAtomicStream(path, stream, { expectedBytes: 40 * 65_536, unique: true });
    assert.equal(n, 40 * 65_536);
    const back = await Deno.readFile(path);
    assert.equal(back.length, n);
    assert.deepEqual(back.subarray(39 * 65_536), chunk);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["big.bin"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
