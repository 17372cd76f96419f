/**
 * Process worker of `ScorePool` (`lib/score/pool.ts`, which starts it with
 * `isolation: "process"`): reads request frames on stdin, answers each with the shared `handle`
 * (`handle.ts`) as a frame on stdout (`protocol.ts`), several in flight at once as a thread worker
 * does. A native crash or V8 running out of memory here ends this process only; the pool sees it
 * exit and replaces it. Exits when stdin closes. Not imported by anything.
 *
 * @module
 */
import { handle } from "./handle.ts";
import { encodeFrame, readFrames, type WorkerReady, type WorkerRequest } from "./protocol.ts";

// stdout carries frames only: anything a library logs goes to stderr instead.
console.log =
  console.info =
  console.debug =
  console.dir =
    console.error;

const out = Deno.stdout.writable.getWriter();
let writing = Promise.resolve();
const send = (message: unknown) => {
  writing = writing.then(() => out.write(encodeFrame(message)));
  return writing;
};

await send({ ready: true } satisfies WorkerReady);
for await (const req of readFrames(Deno.stdin.readable, (b) => Deno.stderr.writeSync(b))) {
  handle(req as WorkerRequest).then(send);
}
Deno.exit(0);
