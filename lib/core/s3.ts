/**
 * The S3 half of `./storage.ts` (use that module, not this one): `s3://bucket/key` through
 * `@aws-sdk/client-s3`, with the standard AWS variables — `AWS_ENDPOINT_URL_S3` or
 * `AWS_ENDPOINT_URL` for an S3-compatible server (MinIO, Ceph, s3rver; path-style addressing is
 * then used), `AWS_REGION` (default `us-east-1`), credentials from the SDK's default chain
 * (environment, shared files, container and instance roles). Every call retries with exponential
 * backoff: the SDK's own retries for the request, and ours around a body that breaks mid-stream.
 *
 * @module
 */
import { WinnowError } from "./errors.ts";
import { writeAtomicStream } from "./atomic.ts";
import { dirname } from "node:path";

type S3Module = typeof import("@aws-sdk/client-s3");
let client: { sdk: S3Module; s3: InstanceType<S3Module["S3Client"]>; settings: string } | undefined;

/** An `s3://` location that cannot be parsed or reached; names it. */
export class StorageError extends WinnowError {}

/**
 * Splits `s3://bucket/key` into its parts.
 *
 * @example
 * ```ts
 * import { parseUrl } from "./s3.ts";
 * console.log(parseUrl("s3://my-bucket/a/b.png")); // { bucket: "my-bucket", key: "a/b.png" }
 * ```
 */
export function parseUrl(url: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m || m[1].length < 3) {
    throw new StorageError(`${url}: expected s3://BUCKET/KEY with a bucket name of at least 3 characters`);
  }
  return { bucket: m[1], key: m[2] };
}

/** The S3 client, made from the environment's AWS settings (again only when they change). */
async function s3Client() {
  const endpoint = Deno.env.get("AWS_ENDPOINT_URL_S3") || Deno.env.get("AWS_ENDPOINT_URL") || undefined;
  const region = Deno.env.get("AWS_REGION") || Deno.env.get("AWS_DEFAULT_REGION") || "us-east-1";
  const settings = `${endpoint} ${region}`;
  if (client?.settings === settings) return client;
  const sdk = await import("@aws-sdk/client-s3");
  const s3 = new sdk.S3Client({
    region,
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    maxAttempts: Number(Deno.env.get("AWS_MAX_ATTEMPTS")) || 6,
    retryMode: "standard",
  });
  client = { sdk, s3, settings };
  return client;
}

/** Options of {@link withRetry}. */
export interface RetryOptions {
  /** Attempts in all. Default 5. */
  attempts?: number;
  /** First pause; doubled each time, with ±50 % jitter. Default 200 ms. */
  baseMs?: number;
  /** What is being done, for the final error. */
  what?: string;
}

function status(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

/**
 * Runs `fn` until it succeeds, pausing `baseMs × 2^k` (jittered) between attempts; errors that
 * retrying cannot fix (4xx other than 408/429) are thrown at once.
 *
 * @example
 * ```ts
 * import { withRetry } from "./s3.ts";
 * let n = 0;
 * const v = await withRetry(() => ++n < 3 ? Promise.reject(new Error("flaky")) : Promise.resolve(n), { baseMs: 1 });
 * console.log(v); // 3
 * ```
 */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 5, base = options.baseMs ?? 200;
  for (let k = 1;; k++) {
    try {
      return await fn();
    } catch (e) {
      const s = status(e);
      const permanent = s !== undefined && s >= 400 && s < 500 && s !== 408 && s !== 429;
      if (permanent || k >= attempts) {
        if (options.what && e instanceof Error && !e.message.includes(options.what)) {
          e.message = `${options.what}: ${e.message}` + (k > 1 ? ` (after ${k} attempts)` : "");
        }
        throw e;
      }
      await new Promise((r) => setTimeout(r, base * 2 ** (k - 1) * (0.5 + Math.random())));
    }
  }
}

function notFound(e: unknown): boolean {
  const name = (e as Error)?.name;
  return name === "NoSuchKey" || name === "NotFound" || status(e) === 404;
}

/** True when the object exists. */
export async function exists(url: string): Promise<boolean> {
  const { bucket, key } = parseUrl(url);
  const { sdk, s3 } = await s3Client();
  try {
    await withRetry(() => s3.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key })), { what: url });
    return true;
  } catch (e) {
    if (notFound(e)) return false;
    throw e;
  }
}

/** Keys under `prefix`, page by page (1,000 at a time), in S3's order (UTF-8 binary). */
export async function* listKeys(bucket: string, prefix: string): AsyncGenerator<string> {
  const { sdk, s3 } = await s3Client();
  let token: string | undefined;
  do {
    const page = await withRetry(
      () =>
        s3.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token })),
      { what: `s3://${bucket}/${prefix}` },
    );
    for (const o of page.Contents ?? []) if (o.Key && !o.Key.endsWith("/")) yield o.Key;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/** The object's bytes as a stream (for reading lines). */
export async function readStream(url: string): Promise<ReadableStream<Uint8Array>> {
  const { bucket, key } = parseUrl(url);
  const { sdk, s3 } = await s3Client();
  try {
    const r = await withRetry(() => s3.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key })), {
      what: url,
    });
    return r.Body!.transformToWebStream() as ReadableStream<Uint8Array>;
  } catch (e) {
    if (notFound(e)) throw new StorageError(`${url}: no such object`);
    throw e;
  }
}

/** Streams the object into a local file (`writeAtomicStream`: a temporary name, then renamed); false if absent. */
export async function download(url: string, localPath: string): Promise<boolean> {
  const { bucket, key } = parseUrl(url);
  const { sdk, s3 } = await s3Client();
  await Deno.mkdir(dirname(localPath), { recursive: true });
  return await withRetry(async () => {
    let r;
    try {
      r = await s3.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
    } catch (e) {
      if (notFound(e)) return false;
      throw e;
    }
    const body = r.Body!.transformToWebStream() as ReadableStream<Uint8Array>;
    await writeAtomicStream(localPath, body, { unique: true, expectedBytes: r.ContentLength });
    return true;
  }, { what: url });
}

/** Puts a local file as one object (a single PUT: readers see the old object or the new one, never half). */
export async function upload(localPath: string, url: string): Promise<void> {
  const { bucket, key } = parseUrl(url);
  const { sdk, s3 } = await s3Client();
  const body = await Deno.readFile(localPath);
  await withRetry(() => s3.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: body })), {
    what: url,
  });
}

/** Deletes an object (no error when it is absent). */
export async function remove(url: string): Promise<void> {
  const { bucket, key } = parseUrl(url);
  const { sdk, s3 } = await s3Client();
  await withRetry(() => s3.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: key })), { what: url });
}
