/**
 * The deployment files in deploy/ do what they say, as far as this machine can tell without a
 * cluster or AWS: they parse, agree with each other (N in `--shard auto/N` = the number of
 * indexes), and the exact command lines they run succeed — against a local S3 (s3rver), with the
 * index variable Kubernetes or AWS Batch would set. Building the container needs a runtime that is
 * not here; its COPY sources and pinned Deno version are checked instead.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { cliPath, runCli } from "./cli.ts";
import { FakeA1111 } from "./fake_servers.ts";
import { s3Env, skipWithout, startRedis, startS3 } from "./services.ts";
import { download, upload } from "../lib/core/storage.ts";
import { readResults } from "../lib/score/results.ts";
import { selectInputs } from "../lib/score/shard.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const DEPLOY = join(ROOT, "deploy");
const DATA = fileURLToPath(new URL("../../shared/data/images/", import.meta.url));
const TASKS = Object.keys(JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).tasks);

// deno-lint-ignore no-explicit-any
type Any = any;

async function yamlDocs(file: string): Promise<Any[]> {
  const docs = parseAllDocuments(await Deno.readTextFile(join(DEPLOY, file)));
  for (const d of docs) assert.deepEqual(d.errors, [], `${file}: ${d.errors.join("; ")}`);
  return docs.map((d) => d.toJS());
}

/** `deno task NAME ARGS…` → [NAME, ARGS], checking the task exists. */
function taskOf(command: string[], where: string): [string, string[]] {
  assert.deepEqual(command.slice(0, 2), ["deno", "task"], `${where}: runs "deno task …"`);
  assert.ok(TASKS.includes(command[2]), `${where}: deno.json has no task "${command[2]}"`);
  return [command[2], command.slice(3)];
}

function shardCount(args: string[], where: string): number {
  const m = /^auto\/(\d+)$/.exec(args[args.indexOf("--shard") + 1] ?? "");
  assert.ok(m, `${where}: scores with --shard auto/N`);
  return Number(m[1]);
}

/** Runs a deployment's command lines on a local S3 holding a few images under its input prefix. */
async function runOnLocalS3(
  score: string[],
  merge: string[],
  indexVariable: string,
  env: Record<string, string>,
  options: { images: number; emptyShard: boolean },
) {
  const [scoreTask, scoreArgs] = taskOf(score, "score command");
  const [mergeTask, mergeArgs] = taskOf(merge, "merge command");
  const input = scoreArgs.find((a) => a.startsWith("s3://"))!;
  const bucket = new URL(input.replace("s3:", "http:")).hostname;
  const s3 = await startS3([bucket]);
  const vars = { ...env, ...s3Env(s3) };
  for (const [k, v] of Object.entries(vars)) Deno.env.set(k, v);
  try {
    const names = [];
    for await (const e of Deno.readDir(DATA)) if (e.isFile) names.push(e.name);
    const images = names.sort().slice(0, options.images);
    for (const n of images) await upload(join(DATA, n), `${input}${n}`);
    const n = shardCount(scoreArgs, "score command");
    const busy: number[] = [];
    for (let i = 0; i < n && busy.length < options.images; i++) {
      if ((await selectInputs([input], { shard: { index: i, count: n } })).files.length) busy.push(i);
    }
    // The shards that hold the images, and maybe one that holds none (it writes an empty part).
    const empty = [...Array(n).keys()].filter((i) => !busy.includes(i)).slice(0, options.emptyShard ? 1 : 0);
    for (const i of [...busy, ...empty]) {
      Deno.env.set(indexVariable, String(i));
      const r = await runCli(scoreTask, scoreArgs);
      assert.equal(r.code, 0, `shard ${i}: ${r.stderr}`);
    }
    const m = await runCli(mergeTask, mergeArgs);
    assert.equal(m.code, 0, m.stderr);
    const k = images.length;
    assert.match(
      m.stdout,
      new RegExp(`merged ${busy.length + empty.length} parts: ${k} rows → ${k} distinct paths`),
    );
    const local = join(await Deno.makeTempDir(), "merged.parquet");
    assert.ok(await download(mergeArgs[mergeArgs.indexOf("--out") + 1], local));
    const rows = await readResults(local);
    assert.deepEqual(rows.map((r) => r.path), images.map((x) => `${input}${x}`));
    assert.ok(rows.every((r) => r.error === null && typeof r.kept === "boolean"));
  } finally {
    for (const k of [indexVariable, ...Object.keys(vars)]) Deno.env.delete(k);
    await s3.stop();
  }
}

Deno.test("Kubernetes: the Indexed Job and the merge Job run as written on a local S3", async () => {
  const [job] = await yamlDocs("k8s/score-job.yaml");
  const [mergeJob] = await yamlDocs("k8s/merge-job.yaml");
  assert.equal(job.kind, "Job");
  assert.equal(job.spec.completionMode, "Indexed");
  assert.equal(
    job.spec.template.spec.restartPolicy,
    "Never",
    "backoffLimitPerIndex needs restartPolicy Never",
  );
  const score = job.spec.template.spec.containers[0].command;
  const merge = mergeJob.spec.template.spec.containers[0].command;
  assert.equal(
    job.spec.completions,
    shardCount(score, "score-job.yaml"),
    "completions = N of --shard auto/N",
  );
  const partsOut = score[score.indexOf("--out") + 1];
  assert.equal(merge[3], partsOut, "the merge reads the folder the shards write");
  const env = Object.fromEntries(
    job.spec.template.spec.containers[0].env.map((e: Any) => [e.name, String(e.value)]),
  );
  await runOnLocalS3(score, merge, "JOB_COMPLETION_INDEX", env, { images: 2, emptyShard: true });
});

Deno.test("AWS Batch: the array job and the merge job run as written on a local S3", async () => {
  const def = JSON.parse(await Deno.readTextFile(join(DEPLOY, "aws-batch/score-job-definition.json")));
  const mergeDef = JSON.parse(await Deno.readTextFile(join(DEPLOY, "aws-batch/merge-job-definition.json")));
  // AWS Batch replaces a whole argument "Ref::NAME" with the parameter's (default) value.
  const subst = (cmd: string[], params: Record<string, string>) =>
    cmd.map((a) => a.startsWith("Ref::") ? params[a.slice(5)] ?? assert.fail(`no parameter ${a}`) : a);
  const score = subst(def.containerProperties.command, def.parameters);
  const merge = subst(mergeDef.containerProperties.command, mergeDef.parameters);
  const submit = await Deno.readTextFile(join(DEPLOY, "aws-batch/submit.sh"));
  assert.equal(Number(/^SHARDS=(\d+)/m.exec(submit)?.[1]), shardCount(score, "score-job-definition.json"));
  assert.match(submit, /--job-definition winnow-score/);
  assert.match(submit, /--depends-on jobId="\$score"/);
  assert.equal(merge[3], score[score.indexOf("--out") + 1], "the merge reads the folder the shards write");
  const env = Object.fromEntries(def.containerProperties.environment.map((e: Any) => [e.name, e.value]));
  await runOnLocalS3(score, merge, "AWS_BATCH_JOB_ARRAY_INDEX", env, { images: 1, emptyShard: false });
});

Deno.test("Dockerfile: pins the Deno this project runs on and copies files that exist", async () => {
  const text = await Deno.readTextFile(join(DEPLOY, "Dockerfile"));
  const from = /^FROM denoland\/deno:debian-(\S+)$/m.exec(text);
  assert.equal(from?.[1], Deno.version.deno, "FROM names the pinned Deno version");
  for (const m of text.matchAll(/^COPY (.+) \S+$/gm)) {
    for (const src of m[1].split(/\s+/)) {
      assert.ok(await Deno.stat(join(ROOT, src)).catch(() => null), `COPY ${src}: not in the repository`);
    }
  }
  for (const m of text.matchAll(/^RUN deno cache (.+)$/gm)) {
    for (const f of m[1].split(/\s+/)) assert.ok(await Deno.stat(join(ROOT, f)), f);
  }
  assert.match(text, /^ENTRYPOINT \["deno", "task"\]$/m);
  const r = await runCli("score", ["--help"]); // the default CMD
  assert.equal(r.code, 0);
});

Deno.test({
  name: "Kubernetes fleet: the worker container's command serves a queued run (local Redis and fake A1111)",
  ignore: skipWithout("redis-server", "apt-get install redis-server"),
  fn: async () => {
    const docs = await yamlDocs("k8s/fleet.yaml");
    const gpu = docs.find((d) => d.kind === "Deployment" && d.metadata.name === "winnow-gpu");
    const service = docs.find((d) => d.kind === "Service");
    const worker = gpu.spec.template.spec.containers.find((c: Any) => c.name === "worker");
    const [task, args] = taskOf(worker.command, "fleet.yaml worker");
    assert.equal(task, "worker");
    const queue = args[args.indexOf("--queue") + 1];
    assert.equal(
      new URL(queue).hostname,
      service.metadata.name,
      "the worker reaches Redis through the Service",
    );
    assert.equal(Number(new URL(queue).port), service.spec.ports[0].port);
    const a1111 = gpu.spec.template.spec.containers.find((c: Any) => c.name === "a1111");
    assert.equal(
      new URL(args[args.indexOf("--url") + 1]).port,
      String(a1111.ports[0].containerPort),
      "the worker's --url is the server in its pod",
    );
    // The same command, with Redis and the GPU server swapped for local ones.
    const redis = await startRedis();
    const fake = new FakeA1111();
    const local = args.map((a) =>
      a === queue ? redis.url : a.startsWith("http://127.0.0.1:7860") ? fake.url : a
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", cliPath(task), ...local],
      stdout: "null",
      stderr: "null",
      env: { NO_COLOR: "1" },
    }).spawn();
    try {
      const out = join(await Deno.makeTempDir(), "run");
      const r = await runCli("generate", [
        "--queue",
        redis.url,
        "--backend",
        args[args.indexOf("--backend") + 1],
        "--prompt",
        "a lighthouse",
        "-n",
        "2",
        "--heuristics",
        "sharpness",
        "--out",
        out,
        "--quiet",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const lines = (await Deno.readTextFile(join(out, "manifest.jsonl"))).trim().split("\n");
      assert.equal(lines.length, 2);
      assert.equal(fake.to("/sdapi/v1/txt2img").length, 2);
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await fake.close();
      await redis.stop();
    }
  },
});
