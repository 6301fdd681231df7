import { describe, expect, it } from "vitest";
import { childrenNamed, parseProcStat, parseProcStatus, readMemory, readProcStat } from "./proc.ts";

describe("parseProcStat", () => {
  it("reads ppid and utime+stime, even when the command name holds spaces and parentheses", () => {
    const fields = ["S", "77", ...Array.from({ length: 9 }, () => "0"), "150", "25", ...Array.from({ length: 30 }, () => "0")];
    const stat = parseProcStat(`4242 (work (er) d) ${fields.join(" ")}`);
    expect(stat).toEqual({ pid: 4242, comm: "work (er) d", ppid: 77, cpuTicks: 175 });
  });

  it("rejects text that is not a stat line", () => {
    expect(() => parseProcStat("nonsense")).toThrow();
  });

  it("reads this very process", () => {
    const stat = readProcStat(process.pid);
    expect(stat.pid).toBe(process.pid);
    expect(stat.ppid).toBe(process.ppid);
  });
});

describe("parseProcStatus", () => {
  it("reads VmRSS and VmHWM in bytes", () => {
    expect(parseProcStatus("Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n")).toEqual({ rssBytes: 1024 * 1024, peakRssBytes: 2048 * 1024 });
    expect(() => parseProcStatus("Name:\tx\n")).toThrow(/VmRSS/);
  });

  it("reads this process's memory, peak at least current", () => {
    const memory = readMemory(process.pid);
    expect(memory.peakRssBytes).toBeGreaterThanOrEqual(memory.rssBytes);
  });
});

describe("childrenNamed", () => {
  it("finds no workerd child of a process that started none", () => {
    expect(childrenNamed(process.pid, "workerd")).toEqual([]);
  });
});
