import { expect, it } from "vitest";
import { readCapped } from "./read-capped.ts";

const stream = (...parts: string[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of parts) controller.enqueue(new TextEncoder().encode(part));
      controller.close();
    },
  });

it("joins the chunks of a body within the cap", async () => {
  expect(new TextDecoder().decode(await readCapped(stream("ab", "cd"), 4))).toBe("abcd");
  expect(await readCapped(null, 4)).toEqual(new Uint8Array(0));
});

it("gives up as soon as the body grows past the cap", async () => {
  expect(await readCapped(stream("ab", "cd", "e"), 4)).toBeUndefined();
});
