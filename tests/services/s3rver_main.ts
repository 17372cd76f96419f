/**
 * Runs s3rver (a local S3-compatible server, npm:s3rver) on 127.0.0.1 for tests; needs
 * `--unsafe-proto`. Args: DIR BUCKET… ; prints `PORT <n>` once it listens.
 *
 * @module
 */
import S3rver from "s3rver";

const [dir, ...buckets] = Deno.args;
const server = new S3rver({
  address: "127.0.0.1",
  port: 0,
  silent: true,
  directory: dir,
  configureBuckets: buckets.map((name) => ({ name })),
});
const { port } = await server.run();
console.log(`PORT ${port}`);
