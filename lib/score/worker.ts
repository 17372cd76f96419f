/**
 * Thread worker of `ScorePool` (`lib/score/pool.ts`, which starts it with `isolation: "thread"`):
 * one message per file, answered by the shared `handle` (`handle.ts`). Not imported by anything;
 * the messages are typed in `protocol.ts`.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { handle } from "./handle.ts";
import type { WorkerReady, WorkerRequest } from "./protocol.ts";

self.onmessage = async (ev: MessageEvent<WorkerRequest>) => {
  self.postMessage(await handle(ev.data));
};

self.postMessage({ ready: true } satisfies WorkerReady);
