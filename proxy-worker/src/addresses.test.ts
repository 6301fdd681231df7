import { describe, expect, it } from "vitest";
import { isInternalHost } from "./addresses.ts";

const hostname = (url: string): string => new URL(url).hostname;

describe("isInternalHost", () => {
  it.each([
    "http://127.0.0.1/",
    "http://127.9.9.9/",
    "http://0x7f.1/",
    "http://2130706433/",
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://172.31.255.255/",
    "http://192.168.1.1/",
    "http://169.254.169.254/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://224.0.0.1/",
    "http://[::1]/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://[ff02::1]/",
    "http://localhost/",
    "http://LOCALHOST./",
    "http://a.b.localhost/",
    "http://metadata.google.internal/",
    "http://printer.local/",
    "http://router.home.arpa/",
    "http://object-store/",
  ])("%s is internal", (url) => {
    expect(isInternalHost(hostname(url))).toBe(true);
  });

  it.each([
    "https://bucket.s3.amazonaws.com/",
    "https://storage.googleapis.com/",
    "https://8.8.8.8/",
    "https://172.32.0.1/",
    "https://192.169.0.1/",
    "https://[2606:4700::1111]/",
    "https://[::ffff:8.8.8.8]/",
    "https://object-store.invalid/",
  ])("%s is public", (url) => {
    expect(isInternalHost(hostname(url))).toBe(false);
  });
});
