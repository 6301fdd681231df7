export * from "./gitlab.ts";
export * from "./buildkite.ts";
export * from "./circleci.ts";
export * from "./bitbucket.ts";
export * from "./terraform.ts";
