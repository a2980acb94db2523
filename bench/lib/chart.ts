/**
 * The benchmark chart: horizontal bars on a log scale, one panel per measure, as a plain SVG
 * string (no dependencies, readable in any browser and on GitHub).
 */
export interface Bar {
  label: string;
  value: number;
  /** Shown after the bar (e.g. "durable, verifiable"). */
  note?: string;
  highlight?: boolean;
}

export interface Panel {
  title: string;
  unit: string;
  bars: Bar[];
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function fmt(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e4) return `${Math.round(v / 1e3)}k`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return String(Math.round(v));
}

export function chart(title: string, subtitle: string, panels: Panel[]): string {
  const width = 980;
  const labelW = 250;
  const barW = 470;
  const rowH = 26;
  const parts: string[] = [];
  let y = 70;
  for (const p of panels) {
    const values = p.bars.map((b) => b.value).filter((v) => v > 0);
    const lo = Math.floor(Math.log10(Math.max(1, Math.min(...values) / 2)));
    const hi = Math.ceil(Math.log10(Math.max(...values) * 1.05));
    const x = (v: number) => labelW + ((Math.log10(Math.max(v, 10 ** lo)) - lo) / Math.max(1, hi - lo)) * barW;
    parts.push(`<text x="20" y="${y}" class="h">${esc(p.title)}</text>`);
    y += 12;
    const top = y;
    for (let d = lo; d <= hi; d++) {
      const gx = x(10 ** d);
      parts.push(`<line x1="${gx}" y1="${top}" x2="${gx}" y2="${top + p.bars.length * rowH}" class="g"/>`);
      parts.push(`<text x="${gx}" y="${top + p.bars.length * rowH + 14}" class="t" text-anchor="middle">${fmt(10 ** d)}</text>`);
    }
    for (const b of p.bars) {
      const w = Math.max(1, x(b.value) - labelW);
      parts.push(`<text x="${labelW - 10}" y="${y + 17}" class="l" text-anchor="end">${esc(b.label)}</text>`);
      parts.push(`<rect x="${labelW}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" class="${b.highlight ? "a" : "b"}"/>`);
      parts.push(`<text x="${labelW + w + 6}" y="${y + 17}" class="v">${fmt(b.value)} ${esc(p.unit)}${b.note ? ` · ${esc(b.note)}` : ""}</text>`);
      y += rowH;
    }
    y += 44;
  }
  const height = y;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">
<style>
.h{font-size:15px;font-weight:600;fill:#111}.l{font-size:13px;fill:#222}.v{font-size:12px;fill:#333}.t{font-size:11px;fill:#777}
.g{stroke:#ddd;stroke-width:1}.a{fill:#2563eb}.b{fill:#9ca3af}.title{font-size:18px;font-weight:700;fill:#111}.sub{font-size:12px;fill:#555}
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="20" y="28" class="title">${esc(title)}</text>
<text x="20" y="48" class="sub">${esc(subtitle)}</text>
${parts.join("\n")}
</svg>
`;
}
