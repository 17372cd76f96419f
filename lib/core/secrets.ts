/**
 * Secrets (API keys, passwords) read from the environment or a file, and masked everywhere they
 * could show: error messages, logs, manifests, score tables. Every secret winnow reads goes through
 * {@link readSecret} (or {@link registerSecret}) so that {@link maskSecrets} knows it.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { WinnowError } from "./errors.ts";

/** A secret that was named but cannot be read (e.g. an unreadable `NAME_FILE`). */
export class SecretError extends WinnowError {}

const SECRETS = new Set<string>();

/**
 * Remembers a secret so {@link maskSecrets} removes it from any text (logs, errors, manifests).
 * For `user:password` pairs the password and the Basic-auth encoding are remembered too.
 */
export function registerSecret(value: string | undefined): void {
  if (!value || value.length < 3) return;
  SECRETS.add(value);
  SECRETS.add(Buffer.from(value).toString("base64"));
  const colon = value.indexOf(":");
  if (colon >= 0 && value.length - colon - 1 >= 3) SECRETS.add(value.slice(colon + 1));
}

/**
 * Replaces every registered secret, `Authorization` header value and API-key-looking token in
 * `text` with `***`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskSecrets, registerSecret } from "./secrets.ts";
 * registerSecret("hunter2-secret");
 * assert.equal(maskSecrets("key hunter2-secret used"), "key *** used");
 * assert.equal(maskSecrets("Authorization: Bearer abc.def"), "Authorization: Bearer ***");
 * ```
 */
export function maskSecrets(text: string): string {
  let out = text;
  for (const s of [...SECRETS].sort((a, b) => b.length - a.length)) out = out.replaceAll(s, "***");
  return out
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9+/=._~-]{3,}/g, "$1 ***")
    .replace(/\bsk-[A-Za-z0-9_*.-]{6,}/g, "sk-***");
}

/** Reads `process env` style variables; injectable for tests. */
export type EnvReader = (name: string) => string | undefined;

/** Deno's environment (undefined for a variable the process may not read). */
export const denoEnv: EnvReader = (name) => {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
};

/**
 * Reads a secret from the environment variable `name`, or from the file named by `name_FILE`,
 * registers it for masking and returns it (undefined when neither is set).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readSecret } from "./secrets.ts";
 * assert.equal(readSecret("MY_KEY", (n) => n === "MY_KEY" ? "s3cr3t-value" : undefined), "s3cr3t-value");
 * ```
 */
export function readSecret(name: string, env: EnvReader = denoEnv): string | undefined {
  let value = env(name);
  const file = env(`${name}_FILE`);
  if (!value && file) {
    try {
      value = Deno.readTextFileSync(file).trim();
    } catch (e) {
      throw new SecretError(`${name}_FILE: cannot read ${file}: ${(e as Error).name}`);
    }
  }
  value = value?.trim();
  if (!value) return undefined;
  registerSecret(value);
  return value;
}
