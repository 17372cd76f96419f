/**
 * Headless Debian Chromium driven by playwright-core, for tests that look at pages as a person
 * would. Tests that use it skip with a clear message when /usr/bin/chromium is absent (`.ci/run`
 * installs it). playwright-core needs `deno test -A` (it probes /proc when it loads).
 */
import type { BrowserContext } from "playwright-core";
import { fileURLToPath } from "node:url";
import { CHROMIUM_ARGS } from "../lib/notebook/report_check.ts";

export const CHROMIUM = "/usr/bin/chromium";

/** True when Debian's Chromium is installed. */
export const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

/**
 * playwright-core probes `/proc/sys/fs/binfmt_misc/WSLInterop` when it loads, which Deno allows
 * only with --allow-all. Under narrower permissions (`deno task test`), the browser tests run in a
 * child `deno test -A` of their file instead ({@link runFileWithAllAccess}), and the outer run
 * checks that child's outcome.
 */
export const fullAccess = (() => {
  try {
    Deno.statSync("/proc/sys/fs/binfmt_misc/WSLInterop");
    return true;
  } catch (e) {
    return !(e instanceof Deno.errors.NotCapable);
  }
})();

/** Runs `deno test -A` on the test file at `url` (a test's `import.meta.url`): its exit code and output. */
export async function runFileWithAllAccess(url: string): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", fileURLToPath(url)],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

/** Flags that keep headless Chromium off the network and quiet on this machine. */
export const CHROMIUM_FLAGS = CHROMIUM_ARGS;

/** Runs `fn` with a fresh browser context (its own profile folder), closed afterwards. */
export async function withChromium<T>(fn: (ctx: BrowserContext) => Promise<T>): Promise<T> {
  const { chromium } = await import("playwright-core");
  const profile = await Deno.makeTempDir({ prefix: "winnow-chromium-" });
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_FLAGS,
    headless: true,
    viewport: { width: 1280, height: 900 },
  });
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}
