/**
 * Plain CloudFormation YAML, block style, no anchors, aliases or line
 * folding. CloudFormation and cfn-lint read YAML 1.1, where `yes`, `on`,
 * `0123`, `1e3` or `2001-12-14` are not strings, so a string is written plain
 * only when it is plainly a string under YAML 1.1 and 1.2 alike: it starts
 * with a letter, `$` or `/`, is not one of 1.1's boolean or null words, and
 * holds no character that means something to YAML there; every other string
 * is double-quoted with JSON's escapes, which YAML shares. Templates are
 * plain data (maps, lists, strings, numbers, booleans), so this is all the
 * emitter needs; a general library took a third of a 1,000-account compile.
 * That every template reads back to exactly the object it was made from,
 * under the `yaml` library in 1.1 mode and under js-yaml, is checked by
 * test/output.test.ts over every emitted file.
 */

const RESERVED_WORDS = new Set(['y', 'yes', 'n', 'no', 'true', 'false', 'on', 'off', 'null', '~']);
const PLAIN = /^[A-Za-z$/][A-Za-z0-9 _./:${}@()+=,;*<>|'"!%?&~^-]*$/;
// Characters YAML 1.1 treats as line breaks or that must not appear raw in a double-quoted scalar.
const UNSAFE_IN_QUOTES = /[\u007f-\u009f\u2028\u2029\ufeff]/g;

const isPlain = (s: string) => PLAIN.test(s) && !s.endsWith(' ') && !s.endsWith(':') && !s.includes(': ') && !s.includes(' #') && !RESERVED_WORDS.has(s.toLowerCase());

function scalar(value: unknown): string {
  if (typeof value === 'string') return isPlain(value) ? value : JSON.stringify(value).replace(UNSAFE_IN_QUOTES, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} to a template`);
    return String(value);
  }
  if (typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  throw new Error(`cannot write a ${typeof value} to a template`);
}

const isCollection = (v: unknown): v is object => typeof v === 'object' && v !== null;
const entriesOf = (map: object) => Object.entries(map).filter(([, v]) => v !== undefined);

/** Appends `value`, which follows `key:` or `- ` on the current line, to `out`; nested lines start at `indent`. */
function write(value: unknown, indent: string, out: string[], inSequence: boolean): void {
  if (!isCollection(value)) return void out.push(` ${scalar(value)}\n`);
  if (Array.isArray(value)) {
    if (value.length === 0) return void out.push(' []\n');
    // A list under `key:` starts on the next line, indented; a list inside a list continues this line.
    value.forEach((item, i) => {
      out.push(i === 0 && inSequence ? ' -' : `${i === 0 ? '\n' : ''}${indent}-`);
      write(item === undefined ? null : item, `${indent}  `, out, true);
    });
    return;
  }
  const entries = entriesOf(value);
  if (entries.length === 0) return void out.push(' {}\n');
  entries.forEach(([k, v], i) => {
    out.push(i === 0 && inSequence ? ` ${scalar(k)}:` : `${i === 0 ? '\n' : ''}${indent}${scalar(k)}:`);
    write(v, `${indent}  `, out, false);
  });
}

export function toYaml(data: unknown): string {
  if (!isCollection(data) || Array.isArray(data)) throw new Error('a template is a map');
  const out: string[] = [];
  for (const [k, v] of entriesOf(data)) {
    out.push(`${scalar(k)}:`);
    write(v, '  ', out, false);
  }
  return out.join('');
}

/** Templates read back as CloudFormation reads them (YAML 1.1). The library is loaded here, not at start: compiling never reads YAML back. */
export function fromYaml(text: string): unknown {
  const { parse } = require('yaml') as typeof import('yaml');
  return parse(text, { version: '1.1' });
}
