/**
 * The one CEL environment every condition is planned in, created on first
 * use: building it sets up @bufbuild/protobuf's well-known types (~28 ms in
 * workerd), which at module load would be paid by every isolate's start-up,
 * including isolates that never evaluate a condition (issue 12).
 */
import { celEnv, type CelEnv } from "@bufbuild/cel";

let environment: CelEnv | undefined;

export function celEnvironment(): CelEnv {
  environment ??= celEnv();
  return environment;
}
