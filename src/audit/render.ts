/** The report as Markdown (code review) and as one self-contained HTML page (offline, no script). */
import { escapeHtml } from './html';
import type { Block, Cell, Report } from './report';

const esc = escapeHtml;
const mdCell = (c: Cell) => (typeof c === 'string' ? c : `[${c.text}](${c.href})`).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const htmlCell = (c: Cell) => (typeof c === 'string' ? esc(c) : `<a href="${esc(c.href)}">${esc(c.text)}</a>`);

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
      return [`| ${b.head.join(' | ')} |`, `|${b.head.map(() => '---').join('|')}|`, ...b.rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`)].join('\n');
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
    case 'svg':
      return `<figure class="graph">${b.svg}</figure>`;
    case 'table':
      if (b.rows.length === 0) return '<p><em>none</em></p>';
      return `<table><thead><tr>${b.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${b.rows
        .map((r) => `<tr>${r.map((c) => `<td>${htmlCell(c)}</td>`).join('')}</tr>`)
        .join('\n')}</tbody></table>`;
  }
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1a202c}main{max-width:1280px;margin:0 auto;padding:24px}
nav{position:sticky;top:0;background:#f7fafc;border-bottom:1px solid #e2e8f0;padding:8px 24px;font-size:13px}nav a{margin-right:14px}
h1{font-size:22px}h2{margin-top:36px;border-bottom:1px solid #e2e8f0;padding-bottom:4px}h3{margin-top:24px}
table{border-collapse:collapse;margin:8px 0;width:100%}th,td{border:1px solid #e2e8f0;padding:4px 8px;text-align:left;vertical-align:top;font-size:12.5px;word-break:break-word}
th{background:#edf2f7}figure.graph{overflow-x:auto;margin:8px 0}a{color:#2b6cb0}`;

export function toHtml(report: Report): string {
  const nav = report.sections.filter((s) => s.level === 2).map((s) => `<a href="#${s.id}">${esc(s.title)}</a>`).join('');
  const body = report.sections.map((s) => `<section id="${esc(s.id)}"><h${s.level}>${esc(s.title)}</h${s.level}>${s.blocks.map(htmlBlock).join('\n')}</section>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(report.title)}</title><style>${STYLE}</style></head>
<body><nav>${nav}</nav><main><h1>${esc(report.title)}</h1>
${body}
</main></body></html>
`;
}
