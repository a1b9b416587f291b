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
const LONGEST_RESERVED_WORD = Math.max(...[...RESERVED_WORDS].map((w) => w.length));
const PLAIN = /^[A-Za-z$/][A-Za-z0-9 _./:${}@()+=,;*<>|'"!%?&~^-]*$/;
// Characters YAML 1.1 treats as line breaks or that must not appear raw in a double-quoted scalar.
const UNSAFE_IN_QUOTES = /[\u007f-\u009f\u2028\u2029\ufeff]/g;

const isReservedWord = (s: string) => s.length <= LONGEST_RESERVED_WORD && RESERVED_WORDS.has(s.toLowerCase());
const isPlain = (s: string) => PLAIN.test(s) && !s.endsWith(' ') && !s.endsWith(':') && !s.includes(': ') && !s.includes(' #') && !isReservedWord(s);

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

/** The text of `value`, which follows `key:` or `- ` on the current line; nested lines start at `indent`. */
function write(value: unknown, indent: string, inSequence: boolean): string {
  if (!isCollection(value)) return ` ${scalar(value)}\n`;
  const nested = `${indent}  `;
  let text = '';
  if (Array.isArray(value)) {
    if (value.length === 0) return ' []\n';
    // A list under `key:` starts on the next line, indented; a list inside a list continues this line.
    for (let i = 0; i < value.length; i++) {
      text += i === 0 && inSequence ? ' -' : `${i === 0 ? '\n' : ''}${indent}-`;
      text += write(value[i] === undefined ? null : value[i], nested, true);
    }
    return text;
  }
  let first = true;
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    text += first && inSequence ? ` ${scalar(k)}:` : `${first ? '\n' : ''}${indent}${scalar(k)}:`;
    text += write(v, nested, false);
    first = false;
  }
  return first ? ' {}\n' : text;
}

export function toYaml(data: unknown): string {
  if (!isCollection(data) || Array.isArray(data)) throw new Error('a template is a map');
  let text = '';
  for (const [k, v] of Object.entries(data)) if (v !== undefined) text += `${scalar(k)}:${write(v, '  ', false)}`;
  return text;
}

/** Templates read back as CloudFormation reads them (YAML 1.1). The library is loaded here, not at start: compiling never reads YAML back. */
export function fromYaml(text: string): unknown {
  const { parse } = require('yaml') as typeof import('yaml');
  return parse(text, { version: '1.1' });
}
