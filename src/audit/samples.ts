/**
 * Stand-ins the proof asks with where the org file gives a pattern: a name each pattern matches (its sample), and a
 * name none of them does (another role).
 */
import { matches } from './evaluate';

/** A value `pattern` (with IAM's `*` and `?`) matches: each `*` as `x0`, each `?` as `x`. */
export const sampleOf = (pattern: string): string => pattern.replace(/\*/g, 'x0').replace(/\?/g, 'x');

/** Names tried for another role, in order: the usual one, then names of one letter or digit, then of two. */
const CANDIDATES = ((): string[] => {
  const chars = 'qzxjkvwybfghmpudtrcalnoise0123456789'.split('');
  return ['someone-elses', ...chars.map((c) => c.repeat(6)), ...chars.flatMap((a) => chars.map((b) => `${a}${b}`.repeat(3)))];
})();

/**
 * A role name none of `taken` (role names, or patterns whose `*` and `?` match as ArnLike's do) stands for:
 * `someone-elses` unless the org file names or matches it (`some*`, `*s`), else the first of the other candidates none
 * matches. So "another role" is always one the org does not admit by name. A pattern of wildcards alone, which matches
 * every name, is refused where the org file is read.
 */
export const otherRoleName = (taken: readonly string[]): string => anotherName(taken, (name) => name);

/** The first candidate name that, written as `as` writes it (`refs/heads/<name>`), none of `taken` matches; so written. */
export function anotherName(taken: readonly string[], as: (name: string) => string): string {
  const name = CANDIDATES.map(as).find((candidate) => !taken.some((pattern) => matches(pattern, candidate)));
  if (name === undefined) throw new Error(`internal: every name tried matches one of ${taken.join(', ')}`);
  return name;
}
