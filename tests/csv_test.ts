import assert from "node:assert/strict";
import { csvLine, parseCsv } from "../lib/core/csv.ts";

Deno.test("CSV: quotes, embedded commas, quotes and newlines, CRLF and BOM", () => {
  const text = '\ufeffpath,note\r\n"a,b.png","say ""hi""\nthere"\r\nc.png,\r\n\r\n';
  const rows = parseCsv(text);
  assert.deepEqual(rows.map((r) => r.fields), [["path", "note"], ["a,b.png", 'say "hi"\nthere'], [
    "c.png",
    "",
  ]]);
  assert.deepEqual(rows.map((r) => r.line), [1, 2, 4]);
});

Deno.test("CSV: what csvLine writes parses back to the same fields", () => {
  const fields = ["plain", 'q"uote', "com,ma", "new\nline", " padded ", "", "1.5"];
  assert.deepEqual(parseCsv(csvLine(fields))[0].fields, fields);
});

Deno.test("CSV: an unclosed quote names the line", () => {
  assert.throws(() => parseCsv('a\n"open,\n', "x.csv"), /x\.csv:2: a quoted field is not closed/);
});
