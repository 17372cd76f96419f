/**
 * Real services for tests, bound to 127.0.0.1 on free ports: s3rver (npm, a local S3) and
 * Debian's redis-server. When redis-server is not installed, its tests are skipped with a message
 * — except under CI (`CI` set), where `.ci/run` installs it and a missing binary fails the test.
 */
import { fileURLToPath } from "node:url";

/** A running service; `stop()` ends the process this helper started. */
export interface Service {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Absolute path of an executable on PATH, or undefined. */
export function findBinary(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    const p = `${dir}/${name}`;
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch { /* not here */ }
  }
  return undefined;
}

/**
 * Whether tests that need `binary` should be skipped: true (with a message on stderr, once) when
 * it is missing outside CI; false when it is there, or under CI (where the test then fails).
 */
export function skipWithout(binary: string, install: string): boolean {
  if (findBinary(binary) || Deno.env.get("CI")) return false;
  console.error(`SKIPPED: tests that need ${binary}: it is not installed (${install}); CI installs it`);
  return true;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = l.addr as Deno.NetAddr;
  l.close();
  return port;
}

/** Reads the child's output until `pattern` shows, then keeps draining it in the background. */
async function readUntil(stream: ReadableStream<Uint8Array>, pattern: RegExp, what: string, ms = 20_000) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const deadline = setTimeout(() => reader.cancel(), ms);
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`${what} did not start; it said:\n${text}`);
      text += value;
      const m = pattern.exec(text);
      if (m) {
        (async () => {
          while (!(await reader.read().catch(() => ({ done: true }))).done) { /* drain */ }
        })();
        return m;
      }
    }
  } finally {
    clearTimeout(deadline);
  }
}

/** Starts s3rver with `buckets` on 127.0.0.1; its data lives in a temporary folder. */
export async function startS3(buckets: string[]): Promise<Service> {
  const dir = await Deno.makeTempDir({ prefix: "winnow-s3rver-" });
  const main = fileURLToPath(new URL("./services/s3rver_main.ts", import.meta.url));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unsafe-proto", main, dir, ...buckets],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const m = await readUntil(child.stdout, /PORT (\d+)/, "s3rver");
  const port = Number(m[1]);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Environment that points the AWS SDK (in this process and its children) at a local S3. */
export function s3Env(s3: Service): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_S3: s3.url,
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    AWS_REGION: "us-east-1",
  };
}

/** Starts redis-server on a free loopback port without persistence. */
export async function startRedis(): Promise<Service> {
  const bin = findBinary("redis-server");
  if (!bin) throw new Error("redis-server is not installed (apt-get install redis-server)");
  const port = freePort();
  const child = new Deno.Command(bin, {
    args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  await readUntil(child.stdout, /Ready to accept connections/, "redis-server");
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}
