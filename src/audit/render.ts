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
const breakable = (text: string) => inlineCode(esc(text).replace(/[:/,|=_](?!\s)/g, '$&<wbr>'));
/** Markdown's inline code (`x`, as report.md writes it) as <code> in escaped HTML, not as literal backticks. */
const inlineCode = (html: string) => (html.includes('`') ? html.replace(/`([^`\n]+)`/g, '<code>$1</code>') : html);
/**
 * A page's cells as HTML. The same text recurs in many rows (a resource, a
 * principal, a list of actions): each is made breakable once per page.
 */
function htmlCells(): (c: Cell) => string {
  const made = new Map<string, string>();
  const broken = (text: string) => {
    let html = made.get(text);
    if (html === undefined) made.set(text, (html = breakable(text)));
    return html;
  };
  return (c) => (typeof c === 'string' ? broken(c) : `<a href="${esc(c.href)}">${broken(c.text)}</a>`);
}

function mdBlock(b: Block, out: string[]): void {
  switch (b.kind) {
    case 'p':
      return void out.push(b.text);
    case 'list':
      return void out.push(b.items.map((i) => `- ${i}`).join('\n'));
    case 'svg':
      return void out.push(`![rollout graph](${b.file})`);
    case 'table': {
      if (b.rows.length === 0) return void out.push('_none_');
      out.push(`| ${b.head.join(' | ')} |\n|${b.head.map(() => '---').join('|')}|`);
      // A refused row's short cells in bold (and a removed path now allowed, since.ts), so it stands out in review as it does in the page.
      const tight = b.head.map((h) => TIGHT_COLUMNS.has(h));
      for (const r of b.rows) {
        const marked = b.rowClass?.(r) === 'refused' || b.rowClass?.(r) === 'alert';
        out.push(`\n| ${r.map((c, i) => (marked && tight[i] ? `**${mdCell(c)}**` : mdCell(c))).join(' | ')} |`);
      }
    }
  }
}

/** Each item written by `write`, `separator` between them: a document is one list of pieces, joined once. */
function writeEach<T>(out: string[], items: readonly T[], separator: string, write: (item: T) => void): void {
  items.forEach((item, i) => {
    if (i > 0) out.push(separator);
    write(item);
  });
}

export function toMarkdown(report: Report): string {
  const toc = report.sections.filter((s) => s.level === 2).map((s) => `- [${s.title}](#${s.id})`);
  const out = [`# ${report.title}\n\n${toc.join('\n')}\n\n`];
  writeEach(out, report.sections, '\n\n', (s) => {
    out.push(`<a id="${s.id}"></a>\n\n${'#'.repeat(s.level)} ${s.title}`);
    for (const b of s.blocks) {
      out.push('\n\n');
      mdBlock(b, out);
    }
  });
  out.push('\n');
  return out.join('');
}

const prose = (text: string) => inlineCode(esc(text));

function htmlBlock(b: Block, out: string[], htmlCell: (c: Cell) => string): void {
  switch (b.kind) {
    case 'p':
      return void out.push(`<p>${prose(b.text)}</p>`);
    case 'list':
      return void out.push(`<ul>${b.items.map((i) => `<li>${prose(i)}</li>`).join('')}</ul>`);
    case 'svg': {
      // Scaled to the page down to 60 % of its drawn width, scrolled sideways below that (see STYLE).
      const width = /width="(\d+)"/.exec(b.svg)?.[1];
      return void out.push(`<figure class="graph"${width ? ` style="--w:${width}px"` : ''}>${b.svg}</figure>`);
    }
    case 'table': {
      if (b.rows.length === 0) return void out.push('<p><em>none</em></p>');
      // Short-valued columns (result, may) never wrap; the rest wrap at word and ARN boundaries.
      const tight = b.head.map((h) => (TIGHT_COLUMNS.has(h) ? ' class="tight"' : ''));
      out.push(`<div class="table"><table><thead><tr>${b.head.map((h, i) => `<th${tight[i]}>${esc(h)}</th>`).join('')}</tr></thead><tbody>`);
      writeEach(out, b.rows, '\n', (r) => {
        const cls = b.rowClass?.(r);
        out.push(`<tr${cls ? ` class="${esc(cls)}"` : ''}>${r.map((c, i) => `<td${tight[i] ?? ''}>${htmlCell(c)}</td>`).join('')}</tr>`);
      });
      out.push('</tbody></table></div>');
    }
  }
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1a202c}main{max-width:1600px;margin:0 auto;padding:16px 24px}
nav{position:sticky;top:0;z-index:1;background:#f7fafc;border-bottom:1px solid #e2e8f0;padding:6px 24px;font-size:13px;line-height:1.9}nav a{margin-right:14px;white-space:nowrap}
section{scroll-margin-top:96px}h1{font-size:22px}h2{margin-top:36px;border-bottom:1px solid #e2e8f0;padding-bottom:4px}h3{margin-top:24px}
div.table{overflow-x:auto;margin:8px 0}table{border-collapse:collapse;width:100%}
th,td{border:1px solid #e2e8f0;padding:4px 8px;text-align:left;vertical-align:top;font-size:12.5px;overflow-wrap:normal;word-break:normal;hyphens:none}
th{background:#edf2f7}.tight{white-space:nowrap}
tr.refused td{background:#fff5f5}tr.refused td.tight{color:#c53030;font-weight:600}tr.refused td.tight::before{content:"✗ "}tr.alert td{background:#fff5f5}tr.alert td.tight{color:#c53030;font-weight:600}tr.undecided td{background:#fffbea}tr.undecided td.tight{color:#975a16;font-weight:600}tr.undecided td.tight::before{content:"? "}
@media (max-width:1100px){main{padding:12px}th,td{font-size:11.5px;padding:3px 4px}}
figure.graph{overflow-x:auto;margin:8px 0}figure.graph svg{display:block;height:auto;max-width:var(--w);width:max(100%,calc(var(--w) * .6))}a{color:#2b6cb0}`;

export function toHtml(report: Report): string {
  const nav = report.sections.filter((s) => s.level === 2).map((s) => `<a href="#${s.id}">${esc(s.title)}</a>`).join(' ');
  const out = [
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(report.title)}</title><style>${STYLE}</style></head>
<body><nav>${nav}</nav><main><h1>${esc(report.title)}</h1>
`,
  ];
  const htmlCell = htmlCells();
  writeEach(out, report.sections, '\n', (s) => {
    out.push(`<section id="${esc(s.id)}"><h${s.level}>${esc(s.title)}</h${s.level}>`);
    writeEach(out, s.blocks, '\n', (b) => htmlBlock(b, out, htmlCell));
    out.push('</section>');
  });
  out.push('\n</main></body></html>\n');
  return out.join('');
}
