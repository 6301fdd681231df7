/**
 * The README's chart: p50 and p99 latency of each endpoint at each concurrency
 * level, from token-throughput's results, as a self-contained SVG (log scale:
 * the figures span three orders of magnitude).
 */

export interface ChartPoint {
  readonly endpoint: string;
  readonly connections: number;
  readonly p50Us: number;
  readonly p99Us: number;
}

const WIDTH = 760;
const HEIGHT = 360;
const MARGIN = { top: 40, right: 20, bottom: 60, left: 70 };
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b"];

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c] as string);
}

function label(ms: number): string {
  return ms >= 1 ? `${ms} ms` : `${ms * 1000} µs`;
}

export function latencyChartSvg(points: readonly ChartPoint[], title: string): string {
  const endpoints = [...new Set(points.map((p) => p.endpoint))];
  const levels = [...new Set(points.map((p) => p.connections))].sort((a, b) => a - b);
  const valuesMs = points.flatMap((p) => [p.p50Us / 1000, p.p99Us / 1000]).filter((v) => v > 0 && Number.isFinite(v));
  const lo = Math.floor(Math.log10(Math.min(...valuesMs, 1)));
  const hi = Math.ceil(Math.log10(Math.max(...valuesMs, 1)));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const y = (ms: number): number => MARGIN.top + plotH - ((Math.log10(ms) - lo) / Math.max(1, hi - lo)) * plotH;
  const groupW = plotW / Math.max(1, levels.length);
  const barW = (groupW * 0.8) / Math.max(1, endpoints.length);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
  ];
  for (let e = lo; e <= hi; e++) {
    const ms = 10 ** e;
    out.push(`<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(ms).toFixed(1)}" y2="${y(ms).toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${(y(ms) + 4).toFixed(1)}" text-anchor="end">${label(ms)}</text>`);
  }
  for (const [g, level] of levels.entries()) {
    const x0 = MARGIN.left + g * groupW + groupW * 0.1;
    out.push(`<text x="${(MARGIN.left + g * groupW + groupW / 2).toFixed(1)}" y="${HEIGHT - MARGIN.bottom + 18}" text-anchor="middle">${level} connection${level === 1 ? "" : "s"}</text>`);
    for (const [i, endpoint] of endpoints.entries()) {
      const p = points.find((q) => q.connections === level && q.endpoint === endpoint);
      if (p === undefined) continue;
      const x = x0 + i * barW;
      const color = COLORS[i % COLORS.length] as string;
      const base = MARGIN.top + plotH;
      const p99 = y(Math.max(p.p99Us / 1000, 10 ** lo));
      const p50 = y(Math.max(p.p50Us / 1000, 10 ** lo));
      out.push(`<rect x="${x.toFixed(1)}" y="${p99.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(base - p99).toFixed(1)}" fill="${color}" fill-opacity="0.35"><title>${escapeXml(`${endpoint} @${level}: p99 ${(p.p99Us / 1000).toFixed(2)} ms`)}</title></rect>`);
      out.push(`<rect x="${x.toFixed(1)}" y="${p50.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(base - p50).toFixed(1)}" fill="${color}"><title>${escapeXml(`${endpoint} @${level}: p50 ${(p.p50Us / 1000).toFixed(2)} ms`)}</title></rect>`);
    }
  }
  const legendY = HEIGHT - 18;
  for (const [i, endpoint] of endpoints.entries()) {
    const x = MARGIN.left + i * 130;
    out.push(`<rect x="${x}" y="${legendY - 10}" width="12" height="12" fill="${COLORS[i % COLORS.length] as string}"/>`);
    out.push(`<text x="${x + 16}" y="${legendY}">${escapeXml(endpoint)}</text>`);
  }
  out.push(`<text x="${WIDTH - MARGIN.right}" y="${legendY}" text-anchor="end">solid: p50 · light: p99</text>`);
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
