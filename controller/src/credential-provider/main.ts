/**
 * `jwt-registry-auth-credential-provider`: CredentialProviderRequest on
 * stdin → CredentialProviderResponse on stdout, and nothing else on stdout.
 * On bad input: exit 1 and one line on stderr; on bad flags: exit 2.
 */
import { parseProviderArgs, USAGE } from "./args.ts";
import { credentialResponse, ProviderError } from "./provider.ts";

const MAX_REQUEST_BYTES = 1024 * 1024;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REQUEST_BYTES) throw new ProviderError("request larger than 1 MiB");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function fail(message: string, code: number): void {
  process.stderr.write(`jwt-registry-auth-credential-provider: ${message.replace(/\s+/g, " ")}\n`);
  process.exitCode = code;
}

async function main(argv: readonly string[]): Promise<void> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stderr.write(USAGE);
    return;
  }
  let options;
  try {
    options = parseProviderArgs(argv, process.env);
  } catch (error) {
    return fail((error as Error).message, 2);
  }
  try {
    const text = await readStdin();
    let request: unknown;
    try {
      request = JSON.parse(text);
    } catch {
      throw new ProviderError("request is not valid JSON");
    }
    process.stdout.write(`${JSON.stringify(credentialResponse(request, options, Date.now()))}\n`);
  } catch (error) {
    fail(error instanceof ProviderError ? error.message : `unexpected error: ${(error as Error).message}`, 1);
  }
}

await main(process.argv.slice(2));
