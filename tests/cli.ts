/** Runs a winnow command-line entry point in a child Deno, as a user's shell would. */
import { fileURLToPath } from "node:url";

/** Path of `lib/cli/<name>.ts`. */
export function cliPath(name: string): string {
  return fileURLToPath(new URL(`../lib/cli/${name}.ts`, import.meta.url));
}

/**
 * The arguments of a child Deno that runs `lib/cli/<name>.ts` with the permissions its deno task
 * grants (the union of them: read, write, env, ffi, sys, net; and run for `score`, whose process
 * workers need it).
 */
export function cliArgs(name: string, args: string[]): string[] {
  return [
    "run",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-ffi",
    "--allow-sys",
    "--allow-net",
    ...(name === "score" ? ["--allow-run"] : []),
    cliPath(name),
    ...args,
  ];
}

/** Output of {@link runCli}. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `lib/cli/<name>.ts` with the same permissions as its deno task and collects its output;
 * `env` is added to the child's environment.
 */
export async function runCli(
  name: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: cliArgs(name, args),
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A running `deno task label` server: the child, the URL it printed (with its token) and its port. */
export interface LabelCli {
  child: Deno.ChildProcess;
  url: string;
  port: number;
}

/**
 * Starts `lib/cli/label.ts` as a user would and waits for the URL it prints; stdout keeps being
 * drained so the child never blocks on a full pipe.
 */
export async function startLabelCli(
  args: string[],
  stderr: "inherit" | "null" = "inherit",
): Promise<LabelCli> {
  const child = new Deno.Command(Deno.execPath(), {
    args: cliArgs("label", args),
    stdout: "piped",
    stderr,
    env: { NO_COLOR: "1" },
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`label CLI ended before printing its URL:\n${out}`);
    out += value;
    const m = out.match(/open (http:\/\/127\.0\.0\.1:(\d+)\/[0-9a-f]+\/)/);
    if (m) {
      (async () => {
        while (!(await reader.read()).done);
      })();
      return { child, url: m[1], port: Number(m[2]) };
    }
  }
}
