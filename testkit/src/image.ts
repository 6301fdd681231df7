/**
 * Builds a small OCI image layout on disk, offline, that `skopeo copy
 * oci:DIR:TAG docker://…` can push: random-content tar layers (gzip or plain),
 * a config and a manifest, all with valid digests. Layers are streamed to disk,
 * so a 1 GiB layer never sits in memory.
 */
import { createHash, randomBytes, randomFillSync } from "node:crypto";
import { createWriteStream, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { makeTempDir, removeDir } from "./temp-dir.ts";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
export const OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
export const OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar";

export interface LayerSpec {
  /** Bytes of random file content inside the layer's tar. */
  readonly size: number;
  /**
   * "gzip" (default, level 1) or "none" (builds faster). skopeo gzips an
   * uncompressed layer when it pushes to a registry, so the pushed layer's
   * digest differs from the layout's and the push pays for the compression:
   * use "none" only for blobs that aren't pushed with skopeo.
   */
  readonly compression?: "gzip" | "none";
}

export interface BuildImageOptions {
  /** Default: two small gzip layers (1 KiB and 4 KiB). A number is a gzip layer of that many content bytes. */
  readonly layers?: readonly (number | LayerSpec)[];
  readonly tag?: string;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

export interface LayerBlob extends Descriptor {
  /** sha256 of the uncompressed tar (the config's `rootfs.diff_ids`). */
  readonly diffId: string;
  /** The blob file in the layout. */
  readonly path: string;
}

export interface OciImage {
  /** The OCI layout directory. */
  readonly dir: string;
  readonly tag: string;
  /** `oci:DIR:TAG`, for skopeo. */
  readonly reference: string;
  readonly manifest: Descriptor;
  readonly config: Descriptor;
  readonly layers: readonly LayerBlob[];
  /** The manifest JSON bytes exactly as pushed. */
  readonly manifestJson: string;
  /** Path of any blob in the layout by digest. */
  blobPath(digest: string): string;
  cleanup(): void;
}

const BLOCK = 512;

/** A ustar header for one regular file. */
export function tarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(BLOCK);
  const field = (offset: number, length: number, value: string): void => {
    header.write(value, offset, length, "ascii");
  };
  const octal = (value: number, length: number): string => `${value.toString(8).padStart(length - 1, "0")}\0`;
  field(0, 100, name);
  field(100, 8, octal(0o644, 8));
  field(108, 8, octal(0, 8));
  field(116, 8, octal(0, 8));
  field(124, 12, octal(size, 12));
  field(136, 12, octal(0, 12));
  field(148, 8, "        "); // checksum counts its own field as spaces
  field(156, 1, "0");
  field(257, 6, "ustar\0");
  field(263, 2, "00");
  let sum = 0;
  for (const byte of header) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return header;
}

/** The tar stream of one file with `size` random bytes, produced chunk by chunk. */
function randomTar(name: string, size: number): Readable {
  const chunkSize = 1 << 20;
  const padding = (BLOCK - (size % BLOCK)) % BLOCK;
  async function* generate(): AsyncGenerator<Buffer> {
    yield tarHeader(name, size);
    for (let left = size; left > 0; left -= chunkSize) yield randomFillSync(Buffer.allocUnsafe(Math.min(chunkSize, left)));
    yield Buffer.alloc(padding + 2 * BLOCK);
  }
  return Readable.from(generate(), { objectMode: false });
}

/** Passes bytes through while hashing and counting them. */
class Digester extends Transform {
  private readonly hash = createHash("sha256");
  private result: string | undefined;
  size = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    callback(null, chunk);
  }
  /** Once the stream has ended; repeatable. */
  digest(): string {
    this.result ??= `sha256:${this.hash.digest("hex")}`;
    return this.result;
  }
}

function writeBlob(blobsDir: string, bytes: string | Buffer, mediaType: string): Descriptor {
  const data = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
  const hex = createHash("sha256").update(data).digest("hex");
  writeFileSync(join(blobsDir, hex), data);
  return { mediaType, digest: `sha256:${hex}`, size: data.length };
}

async function writeLayer(blobsDir: string, index: number, spec: LayerSpec): Promise<LayerBlob> {
  const tmp = join(blobsDir, `.layer-${index}.tmp`);
  const uncompressed = new Digester();
  const gzip = spec.compression !== "none";
  // An uncompressed layer's digest is its diff_id: hash it once.
  const stored = gzip ? new Digester() : uncompressed;
  const stages = gzip ? [uncompressed, createGzip({ level: 1 }), stored] : [uncompressed];
  await pipeline([randomTar(`layer-${index}.bin`, spec.size), ...stages, createWriteStream(tmp)]);
  const digest = stored.digest();
  const path = join(blobsDir, digest.slice("sha256:".length));
  renameSync(tmp, path);
  return { mediaType: gzip ? OCI_LAYER_GZIP : OCI_LAYER_TAR, digest, size: stored.size, diffId: uncompressed.digest(), path };
}

export async function buildOciImage(options: BuildImageOptions = {}): Promise<OciImage> {
  const tag = options.tag ?? "v1";
  const specs: LayerSpec[] = (options.layers ?? [1024, 4096]).map((l) => (typeof l === "number" ? { size: l } : l));
  const dir = makeTempDir("oci-image");
  try {
    const blobsDir = join(dir, "blobs", "sha256");
    mkdirSync(blobsDir, { recursive: true });
    const layers: LayerBlob[] = [];
    for (const [i, spec] of specs.entries()) layers.push(await writeLayer(blobsDir, i, spec));
    const configJson = JSON.stringify({
      created: "2026-01-01T00:00:00Z",
      architecture: "amd64",
      os: "linux",
      // A random label makes every built image distinct, so digests never collide across tests.
      config: { Labels: { "org.jwt-registry-auth.test-nonce": randomBytes(8).toString("hex") } },
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    });
    const config = writeBlob(blobsDir, configJson, OCI_CONFIG);
    const manifestJson = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config,
      layers: layers.map(({ mediaType, digest, size }) => ({ mediaType, digest, size })),
    });
    const manifest = writeBlob(blobsDir, manifestJson, OCI_MANIFEST);
    writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    writeFileSync(
      join(dir, "index.json"),
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ ...manifest, annotations: { "org.opencontainers.image.ref.name": tag } }] }),
    );
    return {
      dir,
      tag,
      reference: `oci:${dir}:${tag}`,
      manifest,
      config,
      layers,
      manifestJson,
      blobPath: (digest) => join(blobsDir, digest.replace(/^sha256:/, "")),
      cleanup: () => removeDir(dir),
    };
  } catch (error) {
    removeDir(dir);
    throw error;
  }
}
