export * from "./gitlab.ts";
export * from "./buildkite.ts";
export * from "./circleci.ts";
