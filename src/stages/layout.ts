/**
 * The layout: which part (StackSet) of each family holds each unit, kept
 * beside the org file (`<org>.layout.json`) and read by every later compile,
 * so that a unit stays in its part when units are added before it or grow
 * (family.ts). Without it parts would be packed afresh each time, and a moved
 * unit is a resource leaving one StackSet and entering another, which for a
 * retained repository StackSets cannot do at all (src/deploy/moves.ts).
 *
 * The file is the compiler's record, like the AWS CDK's cdk.context.json
 * ("commit this file to version control": https://docs.aws.amazon.com/cdk/v2/guide/context.html):
 * `compile` and `deploy` write it when it does not hold the compile (a unit
 * placed anew, moved or gone); a compile with the file it wrote gives the same
 * output again.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { OrgFileError, XstackError, type Problem } from '../errors';

export const LAYOUT_FORMAT = 'xstack-layout/1';

/** A family's parts: part number (1, 2, …; a part keeps its number) → the keys of the units it holds. */
export type FamilyLayout = ReadonlyMap<number, readonly string[]>;

/** Family id → its parts. */
export type Layout = ReadonlyMap<string, FamilyLayout>;

/** `parameters/example.yaml` → `parameters/example.layout.json`: beside the org file, not matched by the org files' `*.yaml`. */
export const layoutPath = (orgFile: string): string => join(dirname(orgFile), `${basename(orgFile).replace(/\.ya?ml$/, '')}.layout.json`);

const ABOUT = 'Which part (StackSet) of each family holds each unit. Written by xstack compile and deploy; commit it with the org file: later compiles keep every unit in its part.';

/**
 * The file's text: deterministic (families, parts and each part's units in
 * order; units by key, so that reordering the org file changes nothing here),
 * one unit a line, so a diff shows each placement.
 */
export function layoutText(layout: Layout): string {
  const families = [...layout.keys()].sort();
  const familyText = (id: string) => {
    const parts = [...layout.get(id)!].sort(([a], [b]) => a - b);
    const partText = ([n, units]: [number, readonly string[]]) => `      "${n}": [\n${[...units].sort().map((u) => `        ${JSON.stringify(u)}`).join(',\n')}\n      ]`;
    return `    ${JSON.stringify(id)}: {\n${parts.map(partText).join(',\n')}\n    }`;
  };
  return `{\n  "format": ${JSON.stringify(LAYOUT_FORMAT)},\n  "about": ${JSON.stringify(ABOUT)},\n  "families": {\n${families.map(familyText).join(',\n')}\n  }\n}\n`;
}

/** The layout beside an org file; none when there is no such file (a first compile: family.ts packs in file order). */
export function readLayout(orgFile: string): Layout | undefined {
  const file = layoutPath(orgFile);
  if (!existsSync(file)) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new XstackError('LAYOUT_UNREADABLE', `cannot read the layout file ${file}: ${why}; it is the file xstack compile writes beside ${orgFile} (move it away, and the next compile packs every family afresh)`);
  }
  return parseLayout(text, file);
}

/** Every problem of a layout file at once, each naming the file, line and field. */
export function parseLayout(text: string, file: string): Layout {
  const fix = `the file as xstack compile writes it (or delete it: the next compile writes it afresh, and units of a family with several parts may then move)`;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const at = /position (\d+)/.exec((error as Error).message);
    const line = at ? text.slice(0, Number(at[1])).split('\n').length : undefined;
    throw new OrgFileError([{ file, ...(line ? { line } : {}), field: '(file)', message: `not JSON: ${(error as Error).message}`, expected: fix }], 'the layout file');
  }
  const problems: Problem[] = [];
  // JSON.parse keeps the last of two equal keys: a family or part number written twice would lose units unseen.
  for (const d of duplicateKeys(text)) {
    problems.push({ file, line: d.line, field: [...d.path, d.key].join('.'), message: `appears twice in ${d.path.length > 0 ? d.path.join('.') : 'the file'} (first on line ${d.firstLine}), and JSON keeps only the last`, expected: 'each key once: merge the two into one' });
  }
  /** The line of the last of `needles`, each looked for after the one before (a family's key, then a part's, then a unit). */
  const lineOf = (needles: readonly string[]) => {
    let i = 0;
    for (const needle of needles) {
      i = text.indexOf(needle, i);
      if (i < 0) return {};
    }
    return { line: text.slice(0, i).split('\n').length };
  };
  const problem = (field: string, message: string, expected: string, ...needles: string[]) => problems.push({ file, ...lineOf(needles), field, message, expected });
  const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isObject(data)) throw new OrgFileError([{ file, line: 1, field: '(file)', message: 'not a JSON object', expected: fix }], 'the layout file');
  if (data.format !== LAYOUT_FORMAT) problem('format', `is ${JSON.stringify(data.format)}`, `"${LAYOUT_FORMAT}"`, '"format"');
  const layout = new Map<string, Map<number, string[]>>();
  if (!isObject(data.families)) problem('families', 'is missing or not an object', 'an object of family id → parts', '"families"');
  else {
    for (const [family, parts] of Object.entries(data.families)) {
      if (!isObject(parts)) {
        problem(`families.${family}`, 'is not an object', 'an object of part number → unit keys', '"families"', JSON.stringify(family));
        continue;
      }
      const byNumber = new Map<number, string[]>();
      const partOf = new Map<string, string>();
      for (const [number, units] of Object.entries(parts)) {
        const field = `families.${family}.${number}`;
        const at = ['"families"', JSON.stringify(family), JSON.stringify(number)];
        if (!/^[1-9]\d{0,3}$/.test(number)) problem(field, 'is not a part number', 'a whole number from 1', ...at);
        else if (!Array.isArray(units) || units.length === 0 || !units.every((u) => typeof u === 'string' && u.length > 0)) problem(field, 'is not a list of unit keys', 'a non-empty list of strings such as "pipeline web-app"', ...at);
        else {
          for (const unit of units as string[]) {
            const other = partOf.get(unit);
            if (other !== undefined) problem(field, `names unit ${JSON.stringify(unit)}, which part ${other} names too`, 'each unit in one part', ...at, JSON.stringify(unit));
            partOf.set(unit, number);
          }
          byNumber.set(Number(number), units as string[]);
        }
      }
      layout.set(family, byNumber);
    }
  }
  if (problems.length > 0) throw new OrgFileError(problems, 'the layout file');
  return layout;
}

/** Keys an object of a JSON text holds twice, with both lines (the text is valid JSON: JSON.parse read it). */
export function duplicateKeys(text: string): Array<{ path: string[]; key: string; line: number; firstLine: number }> {
  const found: Array<{ path: string[]; key: string; line: number; firstLine: number }> = [];
  const lineAt = (index: number) => text.slice(0, index).split('\n').length;
  /** An object (its keys at their offsets, whether a key comes next) or an array (its next index). */
  const stack: Array<{ path: string[]; keys?: Map<string, number>; keyNext: boolean; last: string }> = [];
  // Strings whole, and the characters that open, close and separate: what JSON's structure is made of.
  const token = /"(?:[^"\\]|\\.)*"|[{}[\],]/g;
  for (let m = token.exec(text); m; m = token.exec(text)) {
    const t = m[0];
    const top = stack[stack.length - 1];
    if (t[0] === '"') {
      if (!top?.keys || !top.keyNext) continue;
      const key = t.includes('\\') ? (JSON.parse(t) as string) : t.slice(1, -1);
      const first = top.keys.get(key);
      if (first !== undefined) found.push({ path: top.path, key, line: lineAt(m.index), firstLine: lineAt(first) });
      else top.keys.set(key, m.index);
      top.last = key;
      top.keyNext = false;
    } else if (t === '{' || t === '[') {
      const path = top ? [...top.path, top.last] : [];
      stack.push(t === '{' ? { path, keys: new Map(), keyNext: true, last: '' } : { path, keyNext: false, last: '0' });
    } else if (t === '}' || t === ']') stack.pop();
    else if (top?.keys) top.keyNext = true;
    else if (top) top.last = String(Number(top.last) + 1);
  }
  return found;
}

/**
 * Records a compile's layout beside its org file when the file does not hold
 * it yet (atomically: a reader sees the old file or the new one). `frozen`
 * (compile and deploy --frozen-layout, for CI): a layout that would change is
 * an error instead, naming what the file does not record. A file that cannot
 * be written is a warning, not a failed compile: the compile's output does not
 * depend on the write (a read-only checkout whose layout is current writes nothing).
 */
export function recordLayout(org: { readonly file: string; readonly layout?: Layout }, compiled: Layout, options: { frozen?: boolean } = {}): { message?: string; warning?: string } {
  const file = layoutPath(org.file);
  const change = layoutChange(org.layout, compiled);
  if (!change) return {};
  const what = change.count;
  if (options.frozen) {
    throw new XstackError(
      'LAYOUT_OUT_OF_DATE',
      `${org.layout ? `the layout file ${file} does not hold this compile` : `there is no layout file ${file}`}: ${what}${change.named}; nothing was changed: run xstack compile ${org.file} without --frozen-layout and commit ${file}`,
    );
  }
  const tmp = `${file}.xstack-tmp-${process.pid}`;
  try {
    writeFileSync(tmp, layoutText(compiled));
    renameSync(tmp, file);
  } catch (error) {
    rmSync(tmp, { force: true });
    return { warning: `warning: could not write the layout file ${file} (${(error as Error).message}); this compile has ${what}, and a later one may place them elsewhere: write the file from a writable checkout and commit it` };
  }
  return { message: `layout: wrote ${file} (${what}); commit it with ${org.file}: later compiles keep each unit in the part it records` };
}

/**
 * What a layout as read (none: no file) lacks of a compile's, in words: how
 * many units it does not place where the compile does, and the first three
 * named; none when it holds the compile. Read by what it says, not its bytes:
 * a file only reformatted (CRLF line ends from a checkout) holds it.
 */
export function layoutChange(recorded: Layout | undefined, compiled: Layout): { count: string; named: string } | undefined {
  if (recorded !== undefined && layoutText(recorded) === layoutText(compiled)) return undefined;
  const placed = unrecordedPlacements(recorded, compiled);
  if (placed.length === 0) return { count: 'units gone from the org file', named: '' };
  return { count: `${placed.length} unit${placed.length === 1 ? '' : 's'} placed`, named: ` (${placed.slice(0, 3).join('; ')}${placed.length > 3 ? '; …' : ''})` };
}

/** Units the compiled layout places where `recorded` (the file as read) does not: placed anew, or moved. */
export function unrecordedPlacements(recorded: Layout | undefined, compiled: Layout): string[] {
  const partIn = (layout: Layout | undefined, family: string) => {
    const parts = new Map<string, number>();
    for (const [n, units] of layout?.get(family) ?? []) for (const u of units) parts.set(u, n);
    return parts;
  };
  const changes: string[] = [];
  for (const [family, parts] of compiled) {
    const before = partIn(recorded, family);
    for (const [n, units] of parts) {
      for (const u of units) {
        const was = before.get(u);
        if (was !== n) changes.push(`${family}: ${u} ${was === undefined ? 'placed in' : `moved from part ${was} to`} part ${n}`);
      }
    }
  }
  return changes;
}
