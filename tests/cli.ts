/** Runs a winnow command-line entry point in a child Deno, as a user's shell would. */
import { fileURLToPath } from "node:url";

/** Path of `lib/cli/<name>.ts`. */
export function cliPath(name: string): string {
  return fileURLToPath(new URL(`../lib/cli/${name}.ts`, import.meta.url));
}

/** Output of {@link runCli}. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `lib/cli/<name>.ts` with the same permissions as its deno task and collects its output. */
export async function runCli(name: string, args: string[]): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-ffi",
      "--allow-sys",
      "--allow-net",
      cliPath(name),
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
