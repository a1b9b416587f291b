/**
 * Stand-ins the proof asks with where the org file gives a pattern: a name each pattern matches (its sample), and a
 * name none of them does (another role).
 */
import { namesOnePermissionSet } from '../iam/role-path';
import { accountByName, type Org, type RoleSource } from '../org/model';
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

/**
 * A role name that starts as `name` does, as far as none of `taken` (names, or patterns with IAM's `*` and `?`)
 * matches it: `name` and a hyphen for a name (`platform-admin-someone-elses`), the text before the first wildcard for
 * a pattern, cut shorter where every candidate after it is taken (`platform-*`: `platformsomeone-elses`), then the
 * first of anotherName's candidates. So a condition that names `name`, widened to a pattern of its literal start
 * (`role/platform-*` for `role/platform-admin`), admits the sample, whose refusal then fails (review s59-proof M2):
 * ArnLike checks each component of the ARN with its wildcards
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN).
 */
export function nameLike(name: string, taken: readonly string[]): string {
  const wildcard = name.search(/[*?]/);
  const literal = wildcard < 0 ? `${name}-` : name.slice(0, wildcard);
  for (let end = literal.length; end >= 0; end--) {
    const start = literal.slice(0, end);
    const found = CANDIDATES.find((candidate) => !taken.some((pattern) => matches(pattern, start + candidate)));
    if (found !== undefined) return start + found;
  }
  throw new Error(`internal: every name tried matches one of ${taken.join(', ')}`);
}

/** A sample role of a role source (access.developers.assumedBy, maintainers), and roles of its account it does not admit. */
export interface RoleSourceSample {
  /** The sample role's ARN, in one of its path forms. */
  arn: string;
  /** A role of the same account no name or pattern of the account's sources admits. */
  other: string;
  /** Another permission set's role the pattern would match only by a longer set name, or ''. */
  otherSet: string;
  /** The name or pattern, its account, and the path form. */
  note: string;
  /** The account the role is in. */
  account: string;
  /** The transitive session tag keys the org file names for the source (transitiveTagKeys). */
  tagKeys: readonly string[];
}

/**
 * A sample role of each name or pattern a trust admits, and a role of its account that it does not, in each path
 * form: Identity Center roles have a region segment, except an instance homed in us-east-1, and both must be
 * admitted (src/iam/role-path.ts SSO_PATHS). The proof's paths ask with them, and the grants of a policy the org
 * attaches to those roles (templates/access-callers.ts) are theirs.
 */
export function roleSourceSamples(org: Org, sources: readonly RoleSource[]): RoleSourceSample[] {
  const role = (account: string, name: string) => `arn:${org.partition}:iam::${account}:role/${name}`;
  return sources.flatMap((from) => {
    const account = accountByName(org, from.account).id;
    // Every name or pattern admitted from the account, whichever entry lists it: "another role" is none of them.
    const other = otherRoleName(sources.filter((s) => s.account === from.account).flatMap((s) => s.roleNames));
    return from.roleNames.flatMap((name) => {
      const forms: Array<[string, string]> = from.sso
        ? [['', `aws-reserved/sso.amazonaws.com/${org.region}/`], [' (Identity Center homed in us-east-1)', 'aws-reserved/sso.amazonaws.com/']]
        : [['', '']];
      const otherSet = from.sso && namesOnePermissionSet(name) ? `${name}_*` : undefined;
      return forms.map(([note, path]) => ({
        arn: role(account, `${path}${sampleOf(name)}`),
        other: role(account, `${path}${other}`),
        otherSet: otherSet ? role(account, `${path}${sampleOf(otherSet)}`) : '',
        note: `${name} in ${from.account}${note}`,
        account,
        tagKeys: from.transitiveTagKeys,
      }));
    });
  });
}
