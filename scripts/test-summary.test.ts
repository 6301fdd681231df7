import { describe, expect, it } from "vitest";
import { failureLines } from "./test-summary.js";

const base = { numPassedTests: 1, numFailedTests: 1, numPendingTests: 0, numTodoTests: 0 };

describe("test summary", () => {
  it("names each failed test with its file inside the suite and the first lines of its failure", () => {
    const lines = failureLines("worker", {
      ...base,
      testResults: [
        {
          name: "/tmp/x/main/worker/test/token.test.ts",
          status: "failed",
          assertionResults: [
            { status: "passed", fullName: "token grants" },
            { status: "failed", fullName: "token refuses", failureMessages: ["AssertionError: expected 401 to be 403\n at a\n at b\n at c\n at d\n at e\n at f"] },
          ],
        },
      ],
    });
    expect(lines[0]).toBe("  FAIL worker/test/token.test.ts > token refuses");
    expect(lines[1]).toContain("AssertionError: expected 401 to be 403");
    expect(lines).toHaveLength(7);
  });

  it("names a file that failed to load, which has no test results", () => {
    const lines = failureLines("core", {
      ...base,
      testResults: [{ name: "/r/core/src/a.test.ts", status: "failed", message: "SyntaxError: x", assertionResults: [] }],
    });
    expect(lines).toEqual(["  FAIL core/src/a.test.ts", "       SyntaxError: x"]);
  });
});
