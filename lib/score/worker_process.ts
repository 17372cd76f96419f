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
import { markOneCoreWorker } from "../core/threads.ts";

// One process per core: native model runtimes (onnxruntime) take one thread each here.
markOneCoreWorker();

// Orphan watchdog (Linux): if the pool's process dies (killed with SIGKILL), this child is re-parented;
// a thread of its own notices within 0.2 s and ends the process, even while the main thread is
// stuck in an endless decode (closed stdin alone would only be seen by an idle child). Through
// libc's getppid and _exit, as Deno caches its ppid and Deno.exit in a worker ends only the worker.
const WATCHDOG = `
const libc = Deno.dlopen("libc.so.6", {
  getppid: { parameters: [], result: "i32" },
  _exit: { parameters: ["i32"], result: "void" },
});
setInterval(() => { if (libc.symbols.getppid() !== ${Deno.ppid}) libc.symbols._exit(70); }, 200);
`;
if (Deno.build.os === "linux") {
  const watchdog = new Worker(`data:application/javascript,${encodeURIComponent(WATCHDOG)}`, {
    type: "module",
  });
  watchdog.onerror = (e) => e.preventDefault(); // no libc.so.6 (musl): no watchdog, nothing else changes
}

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
