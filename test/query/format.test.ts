import { describe, expect, it } from "vitest";
import { neutraliseFormula, toCsv, toTable } from "../../src/query/format.js";

describe("CSV output", () => {
  it("neutralises cells a spreadsheet would run as a formula", () => {
    for (const bad of ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx", "=HYPERLINK(\"http://evil\")"]) {
      expect(neutraliseFormula(bad)).toBe(`'${bad}`);
    }
    for (const ok of ["user-1", "a=b", " =x", "", "1.5"]) expect(neutraliseFormula(ok)).toBe(ok);
  });

  it("quotes per RFC 4180 and keeps numbers as numbers", () => {
    const csv = toCsv(
      [
        { a: 'say "hi", then', b: -3.5, c: null },
        { a: "line\nbreak", b: 0, c: true },
        { a: "=1+1", b: 7, c: "@x" },
        { a: " padded ", b: 1, c: "\r=evil" },
      ],
      ["a", "b", "c"],
    );
    expect(csv).toBe(['a,b,c', '"say ""hi"", then",-3.5,', '"line\nbreak",0,true', "'=1+1,7,'@x", '" padded ",1,"\'\r=evil"', ""].join("\r\n"));
  });

  it("renders an aligned table, numbers right-aligned, control characters shown as ?", () => {
    const t = toTable([
      { user: "a", n: 1 },
      { user: "bbb\u001b[31m", n: 100 },
    ]);
    expect(t).toBe(["user        n", "--------  ---", "a           1", "bbb?[31m  100", ""].join("\n"));
    expect(toTable([])).toBe("(no rows)\n");
  });
});
