import type { Figure } from './figures.js';
import { formatNumber } from './report.js';

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A round axis maximum at or above `value` (1, 1.5, 2, 2.5, ... 8 times a power of ten). */
function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/**
 * A horizontal bar chart as a standalone SVG: a bar to each figure's p50, a tick at p95 and a line to
 * p99, one row per figure, on a shared linear axis in the figures' unit.
 */
export function barChartSvg(title: string, subtitle: string, figures: readonly Figure[]): string {
  const labelWidth = 330;
  const plotWidth = 520;
  const rowHeight = 34;
  const top = 64;
  const width = labelWidth + plotWidth + 90;
  const height = top + rowHeight * figures.length + 40;
  const maximum = niceCeiling(Math.max(...figures.map((figure) => figure.summary.p99)));
  const x = (value: number) => labelWidth + (value / maximum) * plotWidth;
  const unit = figures[0]?.unit ?? '';
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Verdana, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="12" y="42" fill="#555555">${escapeXml(subtitle)}</text>`,
  ];
  for (let tick = 0; tick <= 5; tick++) {
    const value = (maximum / 5) * tick;
    const position = x(value).toFixed(1);
    parts.push(
      `<line x1="${position}" y1="${top - 6}" x2="${position}" y2="${height - 34}" stroke="#e3e3e3"/>`,
      `<text x="${position}" y="${height - 20}" text-anchor="middle" fill="#555555">${tick === 0 ? '0' : formatNumber(value)} ${escapeXml(unit)}</text>`,
    );
  }
  figures.forEach((figure, index) => {
    const y = top + index * rowHeight;
    const middle = y + rowHeight / 2 - 4;
    const { p50, p95, p99, runs } = figure.summary;
    parts.push(
      `<text x="${labelWidth - 10}" y="${middle + 4}" text-anchor="end">${escapeXml(figure.label.trim())}</text>`,
      `<rect x="${labelWidth}" y="${y + 4}" width="${(x(p50) - labelWidth).toFixed(1)}" height="${rowHeight - 16}" fill="#3b73b9"/>`,
      `<line x1="${x(p50).toFixed(1)}" y1="${middle}" x2="${x(p99).toFixed(1)}" y2="${middle}" stroke="#222222"/>`,
      `<line x1="${x(p95).toFixed(1)}" y1="${middle - 6}" x2="${x(p95).toFixed(1)}" y2="${middle + 6}" stroke="#222222" stroke-width="2"/>`,
      `<line x1="${x(p99).toFixed(1)}" y1="${middle - 3}" x2="${x(p99).toFixed(1)}" y2="${middle + 3}" stroke="#222222"/>`,
      `<text x="${(x(p99) + 6).toFixed(1)}" y="${middle + 4}" fill="#222222">p50 ${formatNumber(p50)} ${escapeXml(figure.unit)} (n=${runs})</text>`,
    );
  });
  parts.push('</svg>', '');
  return parts.join('\n');
}
