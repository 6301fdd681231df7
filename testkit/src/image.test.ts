import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { buildOciImage, OCI_LAYER_GZIP, OCI_LAYER_TAR, tarHeader, type OciImage } from "./image.ts";
import { runCommand } from "./process.ts";

const sha = (data: Buffer): string => `sha256:${createHash("sha256").update(data).digest("hex")}`;
const images: OciImage[] = [];
afterAll(() => images.forEach((i) => i.cleanup()));

describe("tarHeader", () => {
  it("is a 512-byte ustar header with a valid checksum", () => {
    const header = tarHeader("a.bin", 1000);
    expect(header.length).toBe(512);
    const stored = parseInt(header.subarray(148, 154).toString("ascii"), 8);
    const blanked = Buffer.from(header);
    blanked.fill(0x20, 148, 156);
    expect(stored).toBe(blanked.reduce((sum, b) => sum + b, 0));
    expect(parseInt(header.subarray(124, 135).toString("ascii"), 8)).toBe(1000);
  });
});

describe("buildOciImage", () => {
  it("writes an OCI layout whose blobs match their digests, sizes and diff_ids", async () => {
    const image = await buildOciImage({ layers: [3000, { size: 700, compression: "none" }], tag: "t1" });
    images.push(image);
    expect(image.reference).toBe(`oci:${image.dir}:t1`);
    const index = JSON.parse(readFileSync(join(image.dir, "index.json"), "utf8")) as { manifests: { digest: string; annotations: Record<string, string> }[] };
    expect(index.manifests[0]).toMatchObject({ digest: image.manifest.digest, annotations: { "org.opencontainers.image.ref.name": "t1" } });
    for (const blob of [image.manifest, image.config, ...image.layers]) {
      const bytes = readFileSync(image.blobPath(blob.digest));
      expect(sha(bytes)).toBe(blob.digest);
      expect(bytes.length).toBe(blob.size);
    }
    const [gz, plain] = image.layers;
    expect(gz?.mediaType).toBe(OCI_LAYER_GZIP);
    expect(plain?.mediaType).toBe(OCI_LAYER_TAR);
    expect(sha(gunzipSync(readFileSync(gz?.path ?? "")))).toBe(gz?.diffId);
    expect(plain?.diffId).toBe(plain?.digest);
    const config = JSON.parse(readFileSync(image.blobPath(image.config.digest), "utf8")) as { rootfs: { diff_ids: string[] } };
    expect(config.rootfs.diff_ids).toEqual(image.layers.map((l) => l.diffId));
    expect(readFileSync(image.blobPath(image.manifest.digest), "utf8")).toBe(image.manifestJson);
  });

  it("layers are tar archives GNU tar reads, holding the requested number of bytes", async () => {
    const image = await buildOciImage({ layers: [{ size: 1536, compression: "none" }] });
    images.push(image);
    const listing = await runCommand("tar", ["-tvf", image.layers[0]?.path ?? ""]);
    expect(listing.code).toBe(0);
    expect(listing.stdout).toMatch(/ 1536 .*layer-0\.bin/);
  });

  it("two builds never share a digest", async () => {
    const [a, b] = await Promise.all([buildOciImage(), buildOciImage()]);
    images.push(a, b);
    expect(a.manifest.digest).not.toBe(b.manifest.digest);
    expect(a.layers[0]?.digest).not.toBe(b.layers[0]?.digest);
  });

  it("streams a large layer to disk", async () => {
    const size = 64 << 20;
    const before = process.memoryUsage().rss;
    const image = await buildOciImage({ layers: [{ size, compression: "none" }] });
    images.push(image);
    expect(statSync(image.layers[0]?.path ?? "").size).toBeGreaterThan(size);
    // Holding the layer in memory would grow RSS by at least its size.
    expect(process.memoryUsage().rss - before).toBeLessThan(size);
  });
});
