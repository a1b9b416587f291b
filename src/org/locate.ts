/**
 * Where a field of an org file is written, for a problem found after the file was read (a template's size, two
 * units' names, a text a compile check refuses): the loader's positions are gone by then, so the file is read again
 * with positions and the field's path walked. Only ever on the way to an error.
 */
import { readFileSync } from 'node:fs';
import { readPositioned, type SourceNode } from './source';

export interface FieldPosition {
  line: number;
  column: number;
}

/**
 * The line and column of `field` (`accounts.dev`, `access.developers.assumedBy[1]`, `repositories.my.repo`) in the
 * org file's text: of its key in a mapping, of its item in a list; of the deepest part written, where the rest is
 * not (a default). Undefined where the text does not read or holds none of it.
 */
export function fieldPosition(text: string, field: string): FieldPosition | undefined {
  const read = readPositioned(text);
  if (read.errors.length > 0) return undefined;
  let node: SourceNode | undefined = read.root;
  let rest = field;
  let offset: number | undefined;
  while (rest !== '' && node) {
    const step = stepInto(node, rest);
    if (!step) break;
    ({ node, rest } = step);
    offset = step.offset ?? offset;
  }
  if (offset === undefined) return undefined;
  const { line, col } = read.lines.linePos(offset);
  return { line, column: col };
}

/** One key or index of the path into `node`: the longest key the path starts with, as names may hold dots. */
function stepInto(node: SourceNode, path: string): { node: SourceNode | undefined; rest: string; offset?: number } | undefined {
  const index = /^\[(\d+)\]\.?/.exec(path);
  if (index) {
    if (node.kind !== 'seq') return undefined;
    const item = node.items[Number(index[1])];
    return item && { node: item, rest: path.slice(index[0].length), offset: item.offset };
  }
  if (node.kind !== 'map') return undefined;
  let best: (typeof node.entries)[number] | undefined;
  for (const entry of node.entries) {
    const after = path[entry.key.length];
    if (path.startsWith(entry.key) && (after === undefined || after === '.' || after === '[') && entry.key.length > (best?.key.length ?? -1)) best = entry;
  }
  if (!best) return undefined;
  const rest = path.slice(best.key.length);
  return { node: best.value, rest: rest.startsWith('.') ? rest.slice(1) : rest, offset: best.keyOffset };
}

/**
 * `file:line:column: field`, as the loader names a problem, or `file: field` where the file cannot be read again or
 * does not hold the field.
 */
export function locatedField(file: string, field: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return `${file}: ${field}`;
  }
  const at = fieldPosition(text, field);
  return at ? `${file}:${at.line}:${at.column}: ${field}` : `${file}: ${field}`;
}
