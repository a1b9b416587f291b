/** The rollout graph as SVG, drawn at compile time: waves as columns, stages as linked boxes, wiring as arrows. */
import type { Rollout } from '../stages/graph';
import { escapeHtml } from './html';
import type { Stage } from '../stages/model';

const esc = escapeHtml;
const BOX_W = 230;
const BOX_H = 44;
const COL = 290;
const ROW = 62;
const PAD = 24;

export function rolloutSvg(stages: readonly Stage[], rollout: Rollout): string {
  const position = new Map<string, { x: number; y: number }>();
  rollout.waves.forEach((wave, w) => wave.forEach((id, i) => position.set(id, { x: PAD + w * COL, y: PAD + 28 + i * ROW })));
  const height = PAD * 2 + 28 + Math.max(...rollout.waves.map((w) => w.length)) * ROW;
  const width = PAD * 2 + rollout.waves.length * COL - (COL - BOX_W);
  const parts: string[] = [];
  rollout.waves.forEach((_, w) => parts.push(`<text x="${PAD + w * COL}" y="${PAD + 12}" class="wave">wave ${w + 1}</text>`));
  for (const stage of stages) {
    const to = position.get(stage.id)!;
    for (const producer of rollout.dependsOn.get(stage.id) ?? []) {
      const from = position.get(producer)!;
      const x1 = from.x + BOX_W;
      const y1 = from.y + BOX_H / 2;
      const x2 = to.x;
      const y2 = to.y + BOX_H / 2;
      const mid = (x1 + x2) / 2;
      parts.push(`<path d="M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2 - 6},${y2}" class="edge" marker-end="url(#arrow)"/>`);
    }
  }
  for (const stage of stages) {
    const { x, y } = position.get(stage.id)!;
    const accounts = `${stage.targets.length} account${stage.targets.length === 1 ? '' : 's'}`;
    parts.push(
      `<a href="#stage-${esc(stage.id)}"><g class="stage"><title>${esc(stage.id)}: ${esc(stage.targets.map((a) => a.name).join(', '))}</title>` +
        `<rect x="${x}" y="${y}" width="${BOX_W}" height="${BOX_H}" rx="6"/>` +
        `<text x="${x + 10}" y="${y + 18}" class="name">${esc(stage.id.length > 32 ? `${stage.id.slice(0, 31)}…` : stage.id)}</text>` +
        `<text x="${x + 10}" y="${y + 34}" class="meta">${esc(stage.module)} · ${accounts}</text></g></a>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="rollout graph">
<style>.stage rect{fill:#eef4fb;stroke:#2b6cb0;stroke-width:1.2}.stage:hover rect{fill:#d7e7f8}.name{font:600 12px sans-serif;fill:#1a365d}.meta{font:11px sans-serif;fill:#4a5568}.wave{font:600 12px sans-serif;fill:#718096}.edge{fill:none;stroke:#a0aec0;stroke-width:1.2}</style>
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#a0aec0"/></marker></defs>
${parts.join('\n')}
</svg>
`;
}
