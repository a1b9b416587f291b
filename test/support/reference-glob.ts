/**
 * The fuzz tests' reference for IAM's wildcard matching (test/symbolic-fuzz*.test.ts): a pattern as a regular
 * expression, written the plainest way, which the engine's answers are held to. `*` is any run of characters and `?`
 * one, each across the whole text, except in a Resource (`r`), where they stay within an ARN's segment unless `*` ends
 * its segment; `i` ignores case. A `true` flag is `i` (symbolic-fuzz.test.ts's older calls).
 */
import type { Flags } from '../../src/audit/symbolic';

const escape = (c: string) => c.replace(/[.+^${}()|[\]\\*?]/g, '\\$&');
/** A Resource's `*` that is the last character of its segment: the pattern ends, or a colon follows (past more `*`). */
const lastOfSegment = (chars: string[], i: number) => /^\**(:|$)/.test(chars.slice(i + 1).join(''));

export const referenceGlob = (pattern: string, value: string, flags: Flags | boolean): boolean => {
  const chars = [...pattern];
  const resource = flags === 'r';
  const source = chars.map((c, i) => (c === '*' ? (resource && !lastOfSegment(chars, i) ? '[^:]*' : '.*') : c === '?' ? (resource ? '[^:]' : '.') : escape(c)));
  return new RegExp(`^${source.join('')}$`, flags === 'i' || flags === true ? 'is' : 's').test(value);
};

/** A pattern with a wildcard as referenceGlob; one without, compared as text (ignoring case with `i`). */
export const referenceMatch = (pattern: string, value: string, flags: Flags): boolean =>
  pattern.includes('*') || pattern.includes('?') ? referenceGlob(pattern, value, flags) : flags === 'i' ? pattern.toLowerCase() === value.toLowerCase() : pattern === value;
