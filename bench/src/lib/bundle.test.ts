import { describe, expect, it } from "vitest";
import { compatibilityDateOf, nonAsciiOf, packageBytes, packageOf } from "./bundle.ts";

describe("compatibilityDateOf", () => {
  it("reads the top-level compatibility_date of a wrangler.toml", () => {
    expect(compatibilityDateOf('name = "x"\nmain = "src/index.ts"\ncompatibility_date = "2026-04-20"\n')).toBe("2026-04-20");
  });

  it("fails when there is none", () => {
    expect(() => compatibilityDateOf('name = "x"\n# compatibility_date = "2026-04-20"\n')).toThrow(/no compatibility_date/);
  });
});

describe("packageOf", () => {
  it("names the npm package after the last node_modules/, scoped or not", () => {
    expect(packageOf("../node_modules/@bufbuild/cel/dist/esm/parser.js")).toBe("@bufbuild/cel");
    expect(packageOf("node_modules/jose/dist/webapi/jws/compact/sign.js")).toBe("jose");
    expect(packageOf("node_modules/a/node_modules/@x/y/index.js")).toBe("@x/y");
  });

  it("names the repository's own workspace by its top directory, and keeps a bare path (wrangler's shims) as it is", () => {
    expect(packageOf("../core/src/policy/condition.ts")).toBe("(repo) core");
    expect(packageOf("worker/src/index.ts")).toBe("(repo) worker");
    expect(packageOf("<stdin>")).toBe("<stdin>");
  });
});

describe("packageBytes", () => {
  it("sums bytesInOutput per package over every output, largest first", () => {
    const metafile = {
      outputs: {
        "index.js": { inputs: { "node_modules/jose/a.js": { bytesInOutput: 10 }, "node_modules/jose/b.js": { bytesInOutput: 5 }, "core/src/x.ts": { bytesInOutput: 20 } } },
        "index.js.map": { inputs: {} },
        "chunk.js": { inputs: { "node_modules/jose/c.js": { bytesInOutput: 6 } } },
      },
    };
    expect(packageBytes(metafile)).toEqual([
      { name: "jose", bytes: 21 },
      { name: "(repo) core", bytes: 20 },
    ]);
  });

  it("puts input paths relative to the config's directory back under the repo root", () => {
    const metafile = { outputs: { "index.js": { inputs: { "src/index.ts": { bytesInOutput: 7 }, "../protocol/src/scope.ts": { bytesInOutput: 3 }, "../node_modules/jose/x.js": { bytesInOutput: 2 } } } } };
    expect(packageBytes(metafile, "proxy-worker")).toEqual([
      { name: "(repo) proxy-worker", bytes: 7 },
      { name: "(repo) protocol", bytes: 3 },
      { name: "jose", bytes: 2 },
    ]);
  });
});

describe("nonAsciiOf", () => {
  it("counts every byte >= 0x80 and samples each character once", () => {
    const found = nonAsciiOf(Buffer.from('const a = "x";// \u2192 arrow \u00d7', "utf8"));
    expect(found.bytes).toBe(5); // → is 3 bytes, × is 2
    expect(found.samples).toHaveLength(2);
    expect(found.samples[0]).toContain("\u2192");
  });

  it("finds nothing in ASCII", () => {
    expect(nonAsciiOf(Buffer.from("export default {};\n"))).toEqual({ bytes: 0, samples: [] });
  });
});
