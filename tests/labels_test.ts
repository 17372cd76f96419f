import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseCsv } from "../lib/core/csv.ts";
import {
  ERROR_TYPES,
  type FaceLabel,
  iou,
  LabelFormatError,
  loadFaceLabels,
  loadImageLabels,
  matchFaces,
  parseFaceLabels,
  parseImageLabels,
} from "../lib/labels/format.ts";

// The shipped real set: data/labels/ (images.csv, faces.csv, images/, sources.csv, licenses/).
const LABEL_DIR = fileURLToPath(new URL("../data/labels/", import.meta.url));
const README = await Deno.readTextFile(join(LABEL_DIR, "README.md"));

/** A number the data README states, found by a pattern with one capture group. */
function readmeNumber(re: RegExp): number {
  const m = README.replace(/\s+/g, " ").match(re);
  assert.ok(m, `README no longer says ${re}`);
  return Number(m[1]);
}

Deno.test("shipped images.csv: counts as its README states, every row kept, every image exists", async () => {
  const r = await loadImageLabels(join(LABEL_DIR, "images.csv"));
  assert.deepEqual(r.issues, []);
  const images = readmeNumber(/`images\.csv` \| (\d+) images/);
  const unusable = readmeNumber(/`usable` yes\/no \((\d+) no\)/);
  assert.equal(images, 262);
  assert.equal(unusable, 27);
  assert.deepEqual([r.read, r.kept, r.rejected], [images, images, 0]);
  assert.equal(r.rows.filter((x) => !x.usable).length, unusable);
  // error vocabulary counts named in the README
  let checked = 0;
  for (const [, type, n] of README.replace(/\s+/g, " ").matchAll(/\b([a-z_]+) (\d+)(?=[,)… ])/g)) {
    if (!(ERROR_TYPES as readonly string[]).includes(type)) continue;
    assert.equal(r.rows.filter((x) => x.errors.includes(type as never)).length, Number(n), type);
    checked++;
  }
  assert.ok(checked >= 5, `only ${checked} error counts found in the README`);

  assert.deepEqual(r.extraColumns, ["usable_a", "usable_b", "quality_a", "quality_b"]);
  for (const row of r.rows) {
    assert.ok(row.rawPath.startsWith("images/"));
    assert.equal(row.path, join(LABEL_DIR, row.rawPath));
    assert.ok((await Deno.stat(row.path)).isFile, row.path);
    assert.ok(Number.isInteger(row.quality) && row.quality >= 1 && row.quality <= 5);
  }
  // the same through the loader's own file check
  assert.equal((await loadImageLabels(join(LABEL_DIR, "images.csv"), { checkFiles: true })).kept, images);
  // cross-check against a naive line split (the real file has no quoted fields)
  const lines = (await Deno.readTextFile(join(LABEL_DIR, "images.csv"))).trimEnd().split(/\r?\n/).slice(1);
  assert.deepEqual(r.rows.map((x) => x.rawPath), lines.map((l) => l.split(",")[0]));
  assert.deepEqual(r.rows.map((x) => x.quality), lines.map((l) => Number(l.split(",")[2])));
  assert.deepEqual(r.rows.map((x) => x.extra.quality_b), lines.map((l) => l.split(",")[7]));
});

Deno.test("shipped faces.csv: 336 faces, 6 at quality 2 or below, no box twice, every image exists", async () => {
  const r = await loadFaceLabels(join(LABEL_DIR, "faces.csv"), { checkFiles: true });
  assert.deepEqual(r.issues, []);
  const faces = readmeNumber(/`faces\.csv` \| (\d+) faces/);
  assert.equal(faces, 336);
  const boxes = r.rows.map((f) => [f.path, f.x, f.y, f.width, f.height].join(" "));
  assert.equal(new Set(boxes).size, boxes.length, "a box is labeled twice");
  assert.deepEqual([r.read, r.kept, r.rejected], [faces, faces, 0]);
  assert.equal(r.rows.filter((f) => f.quality <= 2).length, readmeNumber(/\((\d+) at 2 or below,/));
  const lines = (await Deno.readTextFile(join(LABEL_DIR, "faces.csv"))).trimEnd().split(/\r?\n/).slice(1);
  assert.deepEqual(
    r.rows.map((f) => [f.x, f.y, f.width, f.height, f.quality]),
    lines.map((l) => l.split(",").slice(1, 6).map(Number)),
  );
  for (const f of r.rows) assert.ok((await Deno.stat(f.path)).isFile);
});

Deno.test("shipped sources.csv: every image has one source row with a repository, commit and licence file", async () => {
  const sources = parseCsv(await Deno.readTextFile(join(LABEL_DIR, "sources.csv"))).map((r) => r.fields);
  const header = sources[0];
  for (const c of ["path", "repo", "commit", "source_path", "license", "license_file"]) {
    assert.ok(header.includes(c), `sources.csv lacks ${c}`);
  }
  const col = (row: string[], name: string) => row[header.indexOf(name)];
  const rows = sources.slice(1);
  const named = new Set([
    ...(await loadImageLabels(join(LABEL_DIR, "images.csv"))).rows.map((r) => r.rawPath),
    ...(await loadFaceLabels(join(LABEL_DIR, "faces.csv"))).rows.map((r) => r.rawPath),
  ]);
  assert.deepEqual(new Set(rows.map((r) => col(r, "path"))), named);
  assert.equal(rows.length, named.size);
  const images = [...Deno.readDirSync(join(LABEL_DIR, "images"))].map((e) => `images/${e.name}`);
  assert.deepEqual(new Set(images), named, "images/ holds exactly the labeled images");
  for (const r of rows) {
    assert.match(col(r, "commit"), /^[0-9a-f]{40}$/);
    assert.match(col(r, "repo"), /^[\w.-]+\/[\w.-]+$/);
    assert.ok(col(r, "license").length > 0);
    assert.ok((await Deno.stat(join(LABEL_DIR, col(r, "license_file")))).isFile, col(r, "license_file"));
  }
  // the README's count of left-out images and its list of repositories agree with the table
  const kept = new Set(rows.map((r) => col(r, "repo")));
  for (const repo of ["lllyasviel/ControlNet-v1-1-nightly", "Tencent/HunyuanDiT", "openai/dalle-2-preview"]) {
    assert.ok(!kept.has(repo), `${repo} is left out for its licence`);
    assert.match(README, new RegExp(repo.replace(/[/.-]/g, "\\$&")));
  }
  assert.equal(readmeNumber(/\*\*(\d+) images \(of 4 repositories\) are left out\*\*/) + rows.length, 385);
});

const BAD_IMAGES = [
  "path,usable,quality,errors,note", // 1
  "good1.jpg,yes,5,,fine", // 2
  "bad_quality.jpg,yes,6,,x", // 3
  "", // 4 (blank line: not a row)
  "bad_usable.jpg,maybe,3,,x", // 5
  'bad_error.jpg,no,2,"blur;bad_hand",x', // 6
  '"good, with comma.jpg",no,1,"garbled_text; artifact;",' + '"two', // 7
  'lines"', // 8 (continues line 7's quoted note)
  "short.jpg,yes,4", // 9
  ",yes,4,,x", // 10
  "good1.jpg,no,2,,duplicate", // 11
  "float_quality.jpg,yes,3.5,,x", // 12
  "two_bad.jpg,YES!,,other,x", // 13
  "good3.jpg,NO,2,other;other,x", // 14
].join("\n");

Deno.test("a bad images.csv: each bad row reported with its line, field and value; good rows kept", () => {
  const r = parseImageLabels(BAD_IMAGES, { file: "/labels/images.csv" });
  assert.deepEqual([r.read, r.kept, r.rejected], [11, 3, 8]);
  assert.deepEqual(r.rows.map((x) => [x.line, x.rawPath]), [
    [2, "good1.jpg"],
    [7, "good, with comma.jpg"],
    [14, "good3.jpg"],
  ]);
  assert.deepEqual(r.rows[1].errors, ["garbled_text", "artifact"]);
  assert.deepEqual(r.rows[1].extra, { note: "two\nlines" });
  assert.equal(r.rows[1].path, "/labels/good, with comma.jpg");
  assert.deepEqual([r.rows[2].usable, r.rows[2].errors], [false, ["other"]]);
  assert.deepEqual(r.issues.map((i) => [i.line, i.field]), [
    [3, "quality"],
    [5, "usable"],
    [6, "errors"],
    [9, "row"],
    [10, "path"],
    [11, "path"],
    [12, "quality"],
    [13, "usable"],
    [13, "quality"],
  ]);
  const msg = r.issues.map((i) => i.message);
  assert.equal(msg[0], '/labels/images.csv:3: quality: expected an integer 1–5, got "6"');
  assert.equal(msg[1], '/labels/images.csv:5: usable: expected yes or no, got "maybe"');
  assert.match(
    msg[2],
    /^\/labels\/images\.csv:6: errors: unknown error type "bad_hand" \(expected one of bad_face,/,
  );
  assert.equal(msg[3], "/labels/images.csv:9: row: expected 5 fields as in the header, got 3");
  assert.equal(msg[4], "/labels/images.csv:10: path: empty");
  assert.equal(msg[5], "/labels/images.csv:11: path: the same image is already labeled on line 2");
  assert.equal(msg[6], '/labels/images.csv:12: quality: expected an integer 1–5, got "3.5"');
  assert.equal(msg[8], '/labels/images.csv:13: quality: expected an integer 1–5, got ""');
  assert.equal(r.issues[0].value, "6");
});

Deno.test("CRLF line ends and a BOM read the same as LF", () => {
  const lf = parseImageLabels(BAD_IMAGES, { file: "/labels/images.csv" });
  const crlf = parseImageLabels("\ufeff" + BAD_IMAGES.replaceAll("\n", "\r\n"), {
    file: "/labels/images.csv",
  });
  assert.deepEqual(crlf.columns, ["path", "usable", "quality", "errors", "note"]);
  // the quoted note keeps its own line break as written
  assert.equal(crlf.rows[1].extra.note, "two\r\nlines");
  crlf.rows[1].extra.note = "two\nlines";
  assert.deepEqual(crlf, lf);
});

Deno.test("quoted fields: doubled quotes, commas and line breaks inside; column order free", () => {
  const text = 'quality,errors,"path",usable\n4,"blur",' + '"a ""quoted"" name.jpg",yes\n' +
    '"3","",b.jpg,"no"\n';
  const r = parseImageLabels(text, { file: "/x/images.csv" });
  assert.deepEqual(r.issues, []);
  assert.deepEqual(r.rows.map((x) => [x.rawPath, x.usable, x.quality, x.errors]), [
    ['a "quoted" name.jpg', true, 4, ["blur"]],
    ["b.jpg", false, 3, []],
  ]);
});

Deno.test("paths resolve against the label file's folder; absolute paths stay", () => {
  const text = "path,usable,quality,errors\n../img/a.jpg,yes,4,\n/abs/b.jpg,yes,4,\nsub/c.jpg,yes,4,\n";
  const r = parseImageLabels(text, { file: "/data/labels/images.csv" });
  assert.deepEqual(r.rows.map((x) => x.path), ["/data/img/a.jpg", "/abs/b.jpg", "/data/labels/sub/c.jpg"]);
  assert.deepEqual(r.rows.map((x) => x.rawPath), ["../img/a.jpg", "/abs/b.jpg", "sub/c.jpg"]);
  const r2 = parseImageLabels(text, { file: "images.csv", baseDir: "/elsewhere" });
  assert.equal(r2.rows[0].path, "/img/a.jpg");
});

Deno.test("a missing required column is an error naming the file and the column", () => {
  assert.throws(
    () => parseImageLabels("path,usable,errors\na.jpg,yes,\n", { file: "labels/images.csv" }),
    (e: Error) =>
      e instanceof LabelFormatError &&
      /^labels\/images\.csv:1: missing required column "quality"/.test(e.message),
  );
  assert.throws(
    () => parseFaceLabels("path,x,y,w,h,quality\n", { file: "faces.csv" }),
    (e: Error) =>
      e instanceof LabelFormatError &&
      /faces\.csv:1: missing required columns "width", "height"/.test(e.message),
  );
  assert.throws(() => parseImageLabels("", { file: "e.csv" }), /e\.csv: empty file/);
  assert.throws(
    () => parseImageLabels('path,usable,quality,errors\n"a.jpg,yes,4,\n', { file: "q.csv" }),
    /q\.csv:2: a quoted field is not closed/,
  );
  assert.throws(
    () => parseImageLabels("path,path,usable,quality,errors\n", { file: "d.csv" }),
    /column "path" appears twice/,
  );
});

Deno.test("loading a file that is not there says so", async () => {
  await assert.rejects(
    loadImageLabels("/nonexistent/images.csv"),
    /\/nonexistent\/images\.csv: label file not found/,
  );
});

Deno.test("a bad faces.csv: numbers, sizes and quality checked per field", () => {
  const text = [
    "path,x,y,width,height,quality,rater",
    "a.jpg,10,20,30,40,4,r1", // 2 good
    "a.jpg,abc,20,30,40,4,r1", // 3
    "a.jpg,10,20,0,40,4,r1", // 4
    "a.jpg,10,20,30,40,,r1", // 5
    "b.jpg,1e1,-2.5,.5,7.,5,r2", // 6 good (finite numbers, any sign for x/y)
    "b.jpg,10,Infinity,30,NaN,9,r2", // 7: three issues
  ].join("\n");
  const r = parseFaceLabels(text, { file: "/l/faces.csv" });
  assert.deepEqual([r.read, r.kept, r.rejected], [6, 2, 4]);
  assert.deepEqual(r.rows.map((f) => [f.line, f.x, f.y, f.width, f.height, f.quality, f.extra.rater]), [
    [2, 10, 20, 30, 40, 4, "r1"],
    [6, 10, -2.5, 0.5, 7, 5, "r2"],
  ]);
  assert.deepEqual(r.issues.map((i) => i.message), [
    '/l/faces.csv:3: x: expected a number, got "abc"',
    '/l/faces.csv:4: width: expected a number above 0, got "0"',
    '/l/faces.csv:5: quality: expected an integer 1–5, got ""',
    '/l/faces.csv:7: y: expected a number, got "Infinity"',
    '/l/faces.csv:7: height: expected a number above 0, got "NaN"',
    '/l/faces.csv:7: quality: expected an integer 1–5, got "9"',
  ]);
});

Deno.test("iou: hand-computed overlaps", () => {
  const a = { x: 0, y: 0, width: 10, height: 10 };
  assert.equal(iou(a, a), 1);
  assert.equal(iou(a, { x: 5, y: 5, width: 10, height: 10 }), 25 / 175);
  assert.equal(iou(a, { x: 0, y: 0, width: 10, height: 5 }), 0.5);
  assert.equal(iou(a, { x: 2, y: 2, width: 4, height: 4 }), 16 / 100);
  assert.equal(iou(a, { x: 10, y: 10, width: 3, height: 3 }), 0);
  assert.equal(iou(a, { x: -20, y: 0, width: 5, height: 5 }), 0);
});

Deno.test("matchFaces: greedy by IoU, one to one, per image, IoU >= minIou inclusive", () => {
  const box = (path: string, x: number, y: number, w = 10, h = 10) => ({ path, x, y, width: w, height: h });
  const labeled = [
    box("/i/a.jpg", 0, 0),
    box("/i/a.jpg", 3, 0),
    box("/i/b.jpg", 0, 0),
    box("/i/c.jpg", 0, 0),
  ];
  const detected = [
    box("/i/a.jpg", 1, 0), // IoU 9/11 with L0, 2/3 with L1
    box("/i/a.jpg", 0, 0), // IoU 1 with L0, 7/13 with L1
    box("/i/b.jpg", 0, 0, 10, 5), // IoU exactly 0.5 with L2: matched
    box("/i/c.jpg", 0, 0, 10, 4.9), // IoU 0.49 with L3: not matched
    box("/i/z.jpg", 0, 0), // image with no labels
  ];
  const m = matchFaces(detected, labeled);
  assert.deepEqual(m.matches.map((p) => [p.detectedIndex, p.labeledIndex]).sort(), [[0, 1], [1, 0], [2, 2]]);
  const byD = new Map(m.matches.map((p) => [p.detectedIndex, p]));
  assert.equal(byD.get(1)!.iou, 1);
  assert.equal(byD.get(0)!.iou, 2 / 3);
  assert.equal(byD.get(2)!.iou, 0.5);
  assert.equal(byD.get(2)!.labeled, labeled[2]);
  assert.deepEqual(m.unmatchedDetected, [3, 4]);
  assert.deepEqual(m.unmatchedLabeled, [3]);
  // a stricter threshold leaves D0 (2/3) and D2 (0.5) unmatched
  assert.deepEqual(matchFaces(detected, labeled, 0.7).unmatchedLabeled, [1, 2, 3]);
  // relative and absolute spellings of the same path join
  assert.equal(matchFaces([box("./x.jpg", 0, 0)], [box(join(Deno.cwd(), "x.jpg"), 0, 0)]).matches.length, 1);
});

Deno.test("matchFaces on the real labels: every labeled face matches its own box, and only that", async () => {
  const r = await loadFaceLabels(join(LABEL_DIR, "faces.csv"));
  const shifted: FaceLabel[] = r.rows.map((f) => ({ ...f, x: f.x + f.width * 0.05 }));
  const m = matchFaces(shifted, r.rows);
  assert.equal(m.matches.length, r.rows.length);
  assert.ok(m.matches.every((p) => p.detectedIndex === p.labeledIndex));
});
