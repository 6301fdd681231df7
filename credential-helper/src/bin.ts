/** The executable: process stdio around main(). Bundled to dist/docker-credential-jwt-registry-auth.mjs. */
import { main } from "./main.ts";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    // Enough to know it is too large; main() refuses it.
    if (size > 128 * 1024) break;
  }
  return Buffer.concat(chunks).toString("utf8");
}

const code = await main(process.argv.slice(2), {
  env: process.env,
  readStdin,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
// Exit once the answer is flushed rather than when the event loop drains: fetch's
// idle keep-alive sockets would hold every docker pull up for about half a second.
process.exitCode = code;
process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
