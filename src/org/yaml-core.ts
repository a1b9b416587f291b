/**
 * What the org file's readers (./source.ts, ./block-yaml.ts) agree on, so that each reads a file as the others do:
 * how a plain scalar is typed, which keys an object would not keep in file order, how deep a file is read.
 */

/** Deeper than any org file goes. */
export const MAX_DEPTH = 32;

/** Keys a JavaScript object would not keep in file order (`2`, `10`), or would treat specially. */
export const UNORDERED_KEY = /^(?:0|[1-9][0-9]{0,9})$|^__proto__$/;

/** A plain scalar's type under YAML 1.2's core schema (CORE_SCALAR_TYPES): whether it reads `written` so, and the value it reads. */
export interface CoreScalarType {
  readonly tag: string;
  readonly resolve: (written: string) => boolean;
  readonly construct: (written: string) => string | number | boolean | null;
}

/**
 * YAML 1.2's core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution)
 * as the `yaml` library applies it by default, where a float has a `.` or an
 * exponent (`!!float 1` stays a string there). js-yaml's own core schema
 * reads more forms as numbers (`0b1`, `1_000`); the readers must type
 * every scalar alike. In js-yaml's order: a plain scalar is the first that resolves it, else a string.
 */
export const CORE_SCALAR_TYPES: readonly CoreScalarType[] = (() => {
  const NULL = /^(?:~|null|Null|NULL)?$/;
  const BOOL = /^(?:true|True|TRUE|false|False|FALSE)$/;
  const INT = /^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$/;
  const FLOAT = /^(?:[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
  const int = (s: string) => (s.startsWith('0o') ? parseInt(s.slice(2), 8) : s.startsWith('0x') ? parseInt(s.slice(2), 16) : parseInt(s, 10));
  const float = (s: string) => (/\.nan$/i.test(s) ? NaN : /inf$/i.test(s) ? (s.startsWith('-') ? -Infinity : Infinity) : parseFloat(s));
  return [
    { tag: 'null', resolve: (s) => NULL.test(s), construct: () => null },
    { tag: 'bool', resolve: (s) => BOOL.test(s), construct: (s) => s[0] === 't' || s[0] === 'T' },
    { tag: 'int', resolve: (s) => INT.test(s), construct: int },
    { tag: 'float', resolve: (s) => FLOAT.test(s), construct: float },
  ];
})();

/** What a plain scalar may start with where a type but the string reads it: null's `~`, `null`, `true`, `false`, a number's sign, digit or `.`. */
const TYPED_FIRST = '~nNtTfF+-.0123456789';

/** A plain scalar as CORE_SCALAR_TYPES types it: the first type that resolves it, else the string; most are strings at their first character. */
export function plainScalarValue(written: string): string | number | boolean | null {
  if (written !== '' && !TYPED_FIRST.includes(written[0])) return written;
  for (const type of CORE_SCALAR_TYPES) if (type.resolve(written)) return type.construct(written);
  return written;
}
