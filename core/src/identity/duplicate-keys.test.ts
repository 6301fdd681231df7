import { describe, expect, it } from "vitest";
import { hasDuplicateKey, jwsPartHasDuplicateKey } from "./duplicate-keys.ts";

/** base64url of the UTF-8 bytes of `text`, as a JWS part holds it. */
const part = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

describe("hasDuplicateKey", () => {
  it.each([
    ['{"alg":"none","alg":"RS256"}', "at the top level"],
    ['{"sub":"s","repository_owner":"acme","repository_owner":"evil"}', "of a claim"],
    ['{"kubernetes.io":{"namespace":"a","namespace":"b"}}', "in a nested object"],
    ['{"a":[{"x":1},{"y":2,"y":3}]}', "in an object inside an array"],
    ['{"alg":"none","\\u0061lg":"RS256"}', "spelled with an escape"],
    ['{"a\\"b":1,"a\\u0022b":2}', "with an escaped quote in the key"],
    ['{ "a" : 1 ,\n\t"a" : 2 }', "with whitespace everywhere"],
    ['{"a":{},"b":[],"a":null}', "after empty containers"],
  ])("finds %s (%s)", (json) => {
    expect(() => JSON.parse(json) as unknown).not.toThrow();
    expect(hasDuplicateKey(json)).toBe(true);
  });

  it.each([
    ['{"alg":"RS256","kid":"k","typ":"JWT"}', "distinct keys"],
    ['{"a":{"a":{"a":1}}}', "the same key at different depths"],
    ['[{"a":1},{"a":2}]', "the same key in sibling objects"],
    ['{"a":"b","b":"a"}', "a value equal to another key"],
    ['{"a":"x\\",\\"a\\":1","b":"{\\"b\\":2}"}', "keys inside string values"],
    ['{"a":"\\\\","b":1}', "a value ending in an escaped backslash"],
    ['["a","a",{"a":1}]', "repeated strings in an array"],
    ['{"aud":["x","x"],"exp":1}', "repeated values"],
    ["{}", "an empty object"],
    ['"just a string"', "a scalar"],
    ['{"A":1,"a":2}', "keys that differ in case"],
  ])("passes %s (%s)", (json) => {
    expect(() => JSON.parse(json) as unknown).not.toThrow();
    expect(hasDuplicateKey(json)).toBe(false);
  });

  it("handles nesting far deeper than a recursive parser would", () => {
    const deep = `${'{"a":'.repeat(5_000)}{"b":1,"b":2}${"}".repeat(5_000)}`;
    expect(hasDuplicateKey(deep)).toBe(true);
    expect(hasDuplicateKey(deep.replace('"b":2', '"c":2'))).toBe(false);
  });
});

describe("jwsPartHasDuplicateKey", () => {
  it.each([
    ['{"alg":"none","alg":"RS256"}', true],
    ['{"é":1,"\\u00e9":2}', true],
    ['{"名前":1,"x":{"名前":2},"名前":3}', true],
    ['{"é":1,"e":2,"ê":3}', false],
    ['{"sub":"répertoire/ü","aud":"x"}', false],
    ['{"a":"??>>","b":"~~~"}', false],
  ])("%s → %s", (json, expected) => {
    expect(hasDuplicateKey(json)).toBe(expected);
    expect(jwsPartHasDuplicateKey(part(json))).toBe(expected);
  });

  it("uses the base64url alphabet, and leaves what doesn't decode to the JWT parser", () => {
    expect(part('{"a":"??>>","b":"~~~"}')).toMatch(/[-_]/);
    expect(jwsPartHasDuplicateKey("!!!")).toBe(false);
  });
});
