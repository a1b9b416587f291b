/** The report as Markdown (code review) and as one self-contained HTML page (offline, no script). */
import { escapeHtml } from './html';
import type { Block, Cell, Report } from './report';

const esc = escapeHtml;
/** Columns of short values (allowed/refused, use/administer/assume): never wrapped. */
const TIGHT_COLUMNS = new Set(['result', 'may', 'wave', 'retained', 'change']);
const mdCell = (c: Cell) => (typeof c === 'string' ? c : `[${c.text}](${c.href})`).replace(/\|/g, '\\|').replace(/\n/g, ' ');
/**
 * Text with a break opportunity after each ARN separator: an ARN or a list of
 * actions wraps at `:` `/` `,` instead of widening its column, and words never
 * break inside (the cells keep `overflow-wrap: normal`).
 */
const breakable = (text: string) => esc(text).replace(/([:/,|=_])(?!\s)/g, '$1<wbr>');
const htmlCell = (c: Cell) => (typeof c === 'string' ? breakable(c) : `<a href="${esc(c.href)}">${breakable(c.text)}</a>`);

function mdBlock(b: Block): string {
  switch (b.kind) {
    case 'p':
      return b.text;
    case 'list':
      return b.items.map((i) => `- ${i}`).join('\n');
    case 'svg':
      return `![rollout graph](${b.file})`;
    case 'table':
      if (b.rows.length === 0) return '_none_';
      // A refused row's short cells in bold, so it stands out in review as it does in the page.
      return [
        `| ${b.head.join(' | ')} |`,
        `|${b.head.map(() => '---').join('|')}|`,
        ...b.rows.map((r) => {
          const marked = b.rowClass?.(r) === 'refused';
          return `| ${r.map((c, i) => (marked && TIGHT_COLUMNS.has(b.head[i]) ? `**${mdCell(c)}**` : mdCell(c))).join(' | ')} |`;
        }),
      ].join('\n');
  }
}

export function toMarkdown(report: Report): string {
  const toc = report.sections.filter((s) => s.level === 2).map((s) => `- [${s.title}](#${s.id})`);
  const body = report.sections.map((s) => [`<a id="${s.id}"></a>`, `${'#'.repeat(s.level)} ${s.title}`, ...s.blocks.map(mdBlock)].join('\n\n'));
  return `# ${report.title}\n\n${toc.join('\n')}\n\n${body.join('\n\n')}\n`;
}

function htmlBlock(b: Block): string {
  switch (b.kind) {
    case 'p':
      return `<p>${esc(b.text)}</p>`;
    case 'list':
      return `<ul>${b.items.map((i) => `<li>${esc(i)}</li>`).join('')}</ul>`;
    case 'svg': {
      // Scaled to the page down to 60 % of its drawn width, scrolled sideways below that (see STYLE).
      const width = /width="(\d+)"/.exec(b.svg)?.[1];
      return `<figure class="graph"${width ? ` style="--w:${width}px"` : ''}>${b.svg}</figure>`;
    }
    case 'table': {
      if (b.rows.length === 0) return '<p><em>none</em></p>';
      // Short-valued columns (result, may) never wrap; the rest wrap at word and ARN boundaries.
      const tight = b.head.map((h) => (TIGHT_COLUMNS.has(h) ? ' class="tight"' : ''));
      return `<div class="table"><table><thead><tr>${b.head.map((h, i) => `<th${tight[i]}>${esc(h)}</th>`).join('')}</tr></thead><tbody>${b.rows
        .map((r) => {
          const cls = b.rowClass?.(r);
          return `<tr${cls ? ` class="${esc(cls)}"` : ''}>${r.map((c, i) => `<td${tight[i] ?? ''}>${htmlCell(c)}</td>`).join('')}</tr>`;
        })
        .join('\n')}</tbody></table></div>`;
    }
  }
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1a202c}main{max-width:1600px;margin:0 auto;padding:16px 24px}
nav{position:sticky;top:0;z-index:1;background:#f7fafc;border-bottom:1px solid #e2e8f0;padding:6px 24px;font-size:13px;line-height:1.9}nav a{margin-right:14px;white-space:nowrap}
section{scroll-margin-top:96px}h1{font-size:22px}h2{margin-top:36px;border-bottom:1px solid #e2e8f0;padding-bottom:4px}h3{margin-top:24px}
div.table{overflow-x:auto;margin:8px 0}table{border-collapse:collapse;width:100%}
th,td{border:1px solid #e2e8f0;padding:4px 8px;text-align:left;vertical-align:top;font-size:12.5px;overflow-wrap:normal;word-break:normal;hyphens:none}
th{background:#edf2f7}.tight{white-space:nowrap}
tr.refused td{background:#fff5f5}tr.refused td.tight{color:#c53030;font-weight:600}tr.refused td.tight::before{content:"✗ "}
@media (max-width:1100px){main{padding:12px}th,td{font-size:11.5px;padding:3px 4px}}
figure.graph{overflow-x:auto;margin:8px 0}figure.graph svg{display:block;height:auto;max-width:var(--w);width:max(100%,calc(var(--w) * .6))}a{color:#2b6cb0}`;

export function toHtml(report: Report): string {
  const nav = report.sections.filter((s) => s.level === 2).map((s) => `<a href="#${s.id}">${esc(s.title)}</a>`).join(' ');
  const body = report.sections.map((s) => `<section id="${esc(s.id)}"><h${s.level}>${esc(s.title)}</h${s.level}>${s.blocks.map(htmlBlock).join('\n')}</section>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(report.title)}</title><style>${STYLE}</style></head>
<body><nav>${nav}</nav><main><h1>${esc(report.title)}</h1>
${body}
</main></body></html>
`;
}
