/**
 * AWS CLI profiles and git-remote-codecommit clone URLs for the access roles
 * (templates/access-roles.ts): one profile per source account, so that git
 * reaches repositories in several accounts at once, each URL naming its
 * profile (`codecommit::REGION://PROFILE@REPOSITORY`).
 */
import { codeCommitGitHost, usesFipsCodeCommit } from '../aws/partitions';
import { XstackError } from '../errors';
import { sectionProfile } from './config-sections';
import { globRegExp } from '../checks/service-authorization';
import { namesOnePermissionSet } from '../iam/role-path';
import { Names } from '../naming';
import type { Org, RoleSource } from '../org/model';

/** credential_source's values (https://docs.aws.amazon.com/sdkref/latest/guide/feature-assume-role-credentials.html). */
export const CREDENTIAL_SOURCES = ['Environment', 'Ec2InstanceMetadata', 'EcsContainer'] as const;
export type CredentialSource = (typeof CREDENTIAL_SOURCES)[number];

export type ProfileIdentity =
  /** A person whose base credentials are another profile (keys, SSO, …). */
  | { kind: 'developer'; sourceProfile: string }
  /**
   * A person whose base credentials are the environment's (aws-vault exec, a federation script's exports), or the host's:
   * `credential_source`, which a source profile never is ("Environment … retrieve source credentials from environment
   * variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"; not with source_profile in one profile,
   * https://docs.aws.amazon.com/sdkref/latest/guide/feature-assume-role-credentials.html).
   */
  | { kind: 'developer-credential-source'; credentialSource: CredentialSource }
  /** A person signing in with IAM Identity Center: a base SSO profile, then one role profile per account. */
  | { kind: 'developer-sso'; ssoSession: string; ssoAccountId: string; ssoRoleName: string }
  /** CI: its own credentials (instance profile, EKS Pod Identity or IRSA), then the pull-only role. */
  | { kind: 'ci' };

export interface Profile {
  name: string;
  settings: Array<[key: string, value: string]>;
}

export interface CloneUrl {
  repository: string;
  account: string;
  profile: string;
  url: string;
}

export interface GeneratedProfiles {
  profiles: Profile[];
  cloneUrls: CloneUrl[];
  /** Environment variables git must run with for the clone URLs to reach their host (none outside GovCloud). */
  gitEnvironment: Array<[name: string, value: string]>;
}

export class ProfilesError extends XstackError {
  constructor(message: string) {
    super('PROFILES', message);
  }
}

/**
 * Every role profile assumes its role through STS: at the region's endpoint,
 * not the global one some SDKs and CLIs use by default (botocore did until
 * boto3 1.40, July 2025, boto/boto3#4583, and an older CI image may still
 * carry it). "Customers in partitions
 * other than commercial must use Regional endpoints", and a CI without
 * internet access reaches STS only through its VPC endpoint, which serves the
 * regional name
 * (https://docs.aws.amazon.com/sdkref/latest/guide/feature-sts-regionalized-endpoints.html).
 */
const STS_REGIONAL: [string, string] = ['sts_regional_endpoints', 'regional'];

/**
 * In a partition whose CodeCommit is used through its FIPS endpoints (GovCloud):
 * "Turns on or off whether the SDK or tool will send requests to
 * FIPS-compliant endpoints"
 * (https://docs.aws.amazon.com/sdkref/latest/guide/feature-endpoints.html).
 * The isolated CI network (templates/ci-network.ts) has `codecommit-fips`, not
 * `codecommit`, so without it `aws codecommit get-branch --profile …-ci` goes to
 * `codecommit.<region>.amazonaws.com` and times out. Every other call these
 * profiles make is STS (AssumeRole; IRSA's AssumeRoleWithWebIdentity), which the
 * SDKs' endpoint rules send, with FIPS in aws-us-gov, to the regional host
 * `sts.<region>.amazonaws.com` (botocore's endpoints.json lists it as STS's
 * `fips` variant there; @aws-sdk/client-sts's rules, dist-es/endpoint/bdd.js,
 * map it likewise), the name the CI network's `sts` endpoint serves. The roles
 * behind the profiles grant nothing but CodeCommit.
 *
 * Not on IAM Identity Center profiles: the SDKs apply the setting to the
 * sign-in calls too and resolve `portal.sso-fips.<region>.amazonaws.com` and
 * `oidc-fips.<region>.amazonaws.com`, which do not exist (aws/aws-cli#9026,
 * boto/botocore#3419), so sign-in would fail.
 */
const USE_FIPS: [string, string] = ['use_fips_endpoint', 'true'];

/**
 * What git must be told, as environment (git-remote-codecommit reads no config
 * file key for its host): in GovCloud, the FIPS git host, the one the CI
 * network serves. The Jenkins example and `xstack profiles` both print this.
 */
export function gitEnvironment(org: Org): Array<[name: string, value: string]> {
  return usesFipsCodeCommit(org.partition) ? [['CODE_COMMIT_ENDPOINT', codeCommitGitHost(org.partition, org.region)]] : [];
}

export interface ProfileOptions {
  /**
   * A developer's role session name (`role_session_name`): CloudTrail then records the source account's pushes under
   * it, not under botocore-session-<time> (https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-role.html).
   */
  readonly sessionName?: string;
  /** For a person: the developer role (default), or the maintainer role, which writes the protected branches. */
  readonly role?: 'developer' | 'maintainer';
}

/**
 * The name of the config block a run of `xstack profiles` maintains: the org's for the developer role, and for the
 * maintainer role and for CI a block each of its own, so that a config that holds two of them keeps both sets of
 * profiles (a CI write replaced a developer's block: review s36-access m1).
 */
export const profileBlock = (org: Org, options: ProfileOptions & { ci?: boolean } = {}): string =>
  options.ci ? `${org.name} ci` : options.role === 'maintainer' ? `${org.name} maintainer` : org.name;

export function generateProfiles(org: Org, identity: ProfileIdentity, options: ProfileOptions = {}): GeneratedProfiles {
  const names = new Names(org.prefix, org.bucketGeneration);
  const isCi = identity.kind === 'ci';
  if (isCi && !org.access.ci) throw new ProfilesError(`${org.file} has no access.ci section: there is no CI role to make profiles for`);
  if (!isCi && !org.access.developers) throw new ProfilesError(`${org.file} has no access.developers section: there is no developer role to make profiles for`);
  const maintainer = !isCi && options.role === 'maintainer';
  if (maintainer && org.access.developers!.maintainers.length === 0) {
    throw new ProfilesError(`${org.file} names no access.developers.maintainers: there is no maintainer role to make profiles for`);
  }
  const profiles: Profile[] = [];
  // FIPS API endpoints for CI and source-profile developers; IAM Identity Center sign-in cannot take them (USE_FIPS).
  const fips = usesFipsCodeCommit(org.partition) && identity.kind !== 'developer-sso' ? [USE_FIPS] : [];
  let base: [string, string];
  if (identity.kind === 'developer-sso') {
    // A maintainer signs in with another permission set than a developer: a base profile of its own.
    // `<prefix>-maintainer-sso`, not `<prefix>-sso-maintainer`: that is the role profile of a source account named `sso`.
    const ssoProfile = maintainer ? `${org.prefix}-maintainer-sso` : `${org.prefix}-sso`;
    profiles.push({
      name: ssoProfile,
      settings: [
        ['sso_session', identity.ssoSession],
        ['sso_account_id', identity.ssoAccountId],
        ['sso_role_name', identity.ssoRoleName],
        ['region', org.region],
      ],
    });
    base = ['source_profile', ssoProfile];
  } else if (identity.kind === 'developer') base = ['source_profile', identity.sourceProfile];
  else if (identity.kind === 'developer-credential-source') base = ['credential_source', identity.credentialSource];
  else base = ciBase(org, names, profiles, fips);

  const cloneUrls: CloneUrl[] = [];
  for (const account of org.accounts.filter((a) => a.role === 'source')) {
    const name = `${org.prefix}-${account.name}-${isCi ? 'ci' : maintainer ? 'maintainer' : 'developer'}`;
    const roleName = isCi ? names.ciReaderRole() : maintainer ? names.maintainerRole() : names.developerRole();
    const session: Array<[string, string]> = !isCi && options.sessionName ? [['role_session_name', options.sessionName]] : [];
    profiles.push({ name, settings: [['role_arn', `arn:${org.partition}:iam::${account.id}:role/${roleName}`], base, ...session, ['region', org.region], STS_REGIONAL, ...fips] });
    for (const r of org.repositories.filter((x) => x.account === account.name)) {
      cloneUrls.push({ repository: r.name, account: account.name, profile: name, url: `codecommit::${org.region}://${name}@${r.name}` });
    }
  }
  const profileNames = profiles.map((p) => p.name);
  const twice = profileNames.find((name, i) => profileNames.indexOf(name) !== i);
  if (twice) throw new ProfilesError(`two profiles would be named ${twice} (an account's name makes the name of another profile); rename the account in ${org.file}`);
  // A role profile sourcing itself holds no keys of its own: botocore refuses it at the first clone (InfiniteLoopConfigError;
  // review s45-profiles P2).
  if (identity.kind === 'developer' && profileNames.includes(identity.sourceProfile)) {
    throw new ProfilesError(`--source-profile ${identity.sourceProfile} is one of the profiles this writes, which would then take its credentials from itself; give the profile that holds your own credentials`);
  }
  return { profiles, cloneUrls, gitEnvironment: gitEnvironment(org) };
}

/**
 * Whether an IAM Identity Center sign-in (`--sso-account-id`, `--sso-role`) is one the role's trust admits: the
 * account of one of its `sso: true` sources, and a permission set whose role (`AWSReservedSSO_<set>_<suffix>`) one of
 * that source's patterns matches. A pattern that names one set (`AWSReservedSSO_Developer_*`) admits that set alone,
 * as the trust excludes the roles of sets whose names only begin as that one's (src/services/needs.ts). Undefined when
 * it is; else why not, for a warning: the first clone would be refused at sts:AssumeRole (review s36-access m2).
 * The role's name: "AWSReservedSSO_permission-set-name_unique-suffix"
 * (https://docs.aws.amazon.com/singlesignon/latest/userguide/referencingpermissionsets.html).
 */
export function ssoSignInMismatch(org: Org, identity: ProfileIdentity, options: ProfileOptions = {}): string | undefined {
  if (identity.kind !== 'developer-sso') return undefined;
  const role = options.role === 'maintainer' ? 'maintainer' : 'developer';
  const sources = (role === 'maintainer' ? org.access.developers?.maintainers : org.access.developers?.assumedBy)?.filter((s) => s.sso) ?? [];
  const accountOf = (s: RoleSource) => org.accounts.find((a) => a.name === s.account);
  const set = identity.ssoRoleName;
  const admits = (pattern: string) => {
    if (namesOnePermissionSet(pattern)) return pattern === `AWSReservedSSO_${set}_*`;
    const named = /^AWSReservedSSO_(.+)_[^_]*$/.exec(pattern)?.[1];
    return globRegExp(pattern).test(`AWSReservedSSO_${set}_0123456789abcdef`) || (named !== undefined && globRegExp(named).test(set));
  };
  if (sources.some((s) => accountOf(s)?.id === identity.ssoAccountId && s.roleNames.some(admits))) return undefined;
  const trusted = sources.map((s) => `${s.roleNames.join(', ')} in ${s.account} (${accountOf(s)?.id ?? 'not in the org file'})`).join('; ');
  return (
    `--sso-account-id ${identity.ssoAccountId} and --sso-role ${set} sign in as IAM Identity Center's role AWSReservedSSO_${set}_… there, which the ${role} role does not trust ` +
    (trusted ? `(${org.file} lets in ${trusted})` : `(${org.file} names no sso: true source for it)`) +
    ': the first git command would be refused at sts:AssumeRole; give the account and permission set the org file names'
  );
}

export function renderProfiles(profiles: readonly Profile[]): string {
  return profiles.map((p) => `[profile ${p.name}]\n${p.settings.map(([k, v]) => `${k} = ${v}`).join('\n')}\n`).join('\n');
}

/**
 * What `xstack profiles` prints: the same marked block `--write` maintains
 * (so a later `--write` replaces an appended copy instead of clashing with
 * it), the clone URLs as comments. Every line is config-file syntax, so
 * `>> ~/.aws/config` once leaves a file the AWS CLI and SDKs still read; a
 * second append repeats every profile, which they refuse, until `--write`
 * folds the copies into one.
 */
export function renderProfileConfig(orgName: string, generated: GeneratedProfiles): string {
  const urls = generated.cloneUrls.map((c) => `# git clone ${c.url}\n`).join('');
  const env = generated.gitEnvironment.length > 0 ? `\n${renderGitEnvironment(generated, '# ')}` : '';
  // A blank line first: appended to a config whose last line has no line end, the marker still starts a line of its
  // own instead of ending the user's last value (review s36-access M1).
  return `\n${begin(orgName)}\n${renderProfiles(generated.profiles)}${env}${urls ? `\n# clone URLs (git-remote-codecommit):\n${urls}` : ''}${end(orgName)}\n`;
}

/**
 * The git environment as shell lines, each line prefixed (`# ` in a config
 * file, where it cannot be a key); empty outside GovCloud.
 */
export function renderGitEnvironment(generated: GeneratedProfiles, prefix: string): string {
  if (generated.gitEnvironment.length === 0) return '';
  return (
    `${prefix}git-remote-codecommit reaches CodeCommit's FIPS git endpoint (FedRAMP's; the isolated CI network has no other) only when told: run git with\n` +
    generated.gitEnvironment.map(([k, v]) => `${prefix}export ${k}=${v}\n`).join('') +
    // git-remote-codecommit sends every codecommit:: URL to that one host, whatever Region the URL names (review s31-partitions m1).
    `${prefix}It sends every codecommit:: remote to that host, whatever its Region: set it only where git works with this org's repositories (that shell, or per command).\n`
  );
}

const begin = (org: string) => `# >>> xstack ${org}: written by 'xstack profiles'; edits inside this block are replaced >>>`;
/** A block's first line as begin() writes it, whatever org's: its name the match's first group. */
const BLOCK_HEADER = /^# >>> xstack (.+): written by 'xstack profiles'/m;
const end = (org: string) => `# <<< xstack ${org} <<<`;

/** The profiles a config file's lines define, each with its line's index. */
const definedProfiles = (lines: readonly string[]): Array<{ name: string; line: number }> =>
  lines.flatMap((l, i) => {
    const name = sectionProfile(l);
    return name === undefined ? [] : [{ name, line: i }];
  });

/**
 * The config with this org's block replaced (or appended); every byte outside
 * the block is kept. Refuses when the file defines one of the block's profiles
 * outside it, or holds a broken block.
 */
export function mergeIntoConfig(existing: string, orgName: string, profiles: readonly Profile[], prefix: string): string {
  // A config whose line ends are CRLF (written on Windows, or by an editor so set) keeps them: read as LF, written back.
  if (existing.includes('\r\n')) return mergeLines(existing.replaceAll('\r\n', '\n'), orgName, profiles, prefix).replaceAll('\n', '\r\n');
  return mergeLines(existing, orgName, profiles, prefix);
}

/** Whether a config file holds a block `xstack profiles` wrote (any org's). */
export const holdsXstackBlock = (text: string): boolean => BLOCK_HEADER.test(text);

/**
 * The profiles in a block's lines that another org's run wrote: the block is named after the org file's stem, so an
 * org file of the same name in another project writes a block of the same name (review s38-cli M3). Every profile
 * generateProfiles makes is named `<prefix>-…` and assumes a role named `<prefix>-<role>`; a profile of another name,
 * or one whose role is another prefix's (prefix `acme-dev` beside `acme`), is not this org's. A profile of this prefix
 * is, whatever its account: an account renamed drops its profile, as the block's header says.
 */
function othersProfiles(lines: readonly string[], inBlock: (line: number) => boolean, prefix: string): Array<{ name: string; line: number }> {
  const defined = definedProfiles(lines).filter((d) => inBlock(d.line));
  const roleOf = (from: number) => {
    for (let i = from + 1; i < lines.length && inBlock(i) && sectionProfile(lines[i]) === undefined && !/^\s*\[/.test(lines[i]); i++) {
      const role = /^\s*role_arn\s*=\s*arn:[^:]*:iam::[^:]*:role\/(?:.*\/)?(\S+)\s*$/.exec(lines[i])?.[1];
      if (role !== undefined) return role;
    }
    return undefined;
  };
  // The roles generateProfiles points profiles at, by the part of their names after the prefix (naming.ts).
  const own = new Names(prefix);
  const endings = [own.developerRole(), own.maintainerRole(), own.ciReaderRole(), own.ciInstanceRole()].map((role) => role.slice(prefix.length));
  const xstackRole = new RegExp(`^(.+)(?:${endings.join('|')})$`);
  return defined.filter((d) => {
    if (!d.name.startsWith(`${prefix}-`)) return true;
    const rolePrefix = xstackRole.exec(roleOf(d.line) ?? '')?.[1];
    return rolePrefix !== undefined && rolePrefix !== prefix;
  });
}

/** The xstack blocks of a config file (every org's, by name), as line ranges. */
function xstackBlocks(lines: readonly string[]): Array<{ name: string; first: number; last: number }> {
  const blocks: Array<{ name: string; first: number; last: number }> = [];
  lines.forEach((l, i) => {
    const name = BLOCK_HEADER.exec(l)?.[1];
    const last = name === undefined ? -1 : lines.indexOf(end(name), i + 1);
    if (name !== undefined && last > i) blocks.push({ name, first: i, last });
  });
  return blocks;
}

/**
 * Why the block cannot be written: profiles of its names defined elsewhere in the file, by the user, or in another
 * org's xstack block (an org file of the same prefix, or this one before it was renamed: the block is keyed by the
 * org file's stem, the profiles by the prefix).
 */
function clashMessage(clashes: ReadonlyArray<{ name: string; line: number }>, blocks: ReadonlyArray<{ name: string; first: number; last: number }>): string {
  const blockOf = (line: number) => blocks.find((b) => b.first < line && line < b.last);
  const inBlocks = clashes.filter((c) => blockOf(c.line));
  const mine = clashes.filter((c) => !blockOf(c.line));
  const sentences: string[] = [];
  if (mine.length > 0) {
    const named = mine.map((c) => `${c.name} (line ${c.line + 1})`).join(', ');
    sentences.push(`refusing to overwrite profile${mine.length === 1 ? '' : 's'} xstack did not write: ${named}; rename or remove ${mine.length === 1 ? 'it' : 'them'}, then run again`);
  }
  for (const b of blocks.filter((x) => inBlocks.some((c) => blockOf(c.line) === x))) {
    const names = inBlocks.filter((c) => blockOf(c.line) === b).map((c) => c.name);
    sentences.push(
      `profile${names.length === 1 ? '' : 's'} ${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} in xstack's block for '${b.name}' (lines ${b.first + 1}-${b.last + 1}), ` +
        `written from an org file of the same prefix, or from this one before it was renamed${names.some((n) => n.endsWith('-ci') || n.endsWith('-ci-base')) ? ', or by --for ci of an xstack that wrote CI profiles into the developer block' : ''}: ` +
        `delete that block (from '# >>> xstack ${b.name}' to '# <<< xstack ${b.name} <<<'), then run again`,
    );
  }
  return sentences.join('; ');
}

function mergeLines(existing: string, orgName: string, profiles: readonly Profile[], prefix: string): string {
  const lines = existing.split('\n');
  // A section header without its closing bracket makes the AWS CLI refuse the whole file: said, not written after.
  const broken = lines.findIndex((l) => /^\s*\[/.test(l) && !/\]\s*(?:[#;].*)?$/.test(l));
  if (broken >= 0) {
    throw new ProfilesError(`line ${broken + 1} of the config, '${lines[broken].trim()}', is not a section header the AWS CLI reads (no closing ']'); fix it, then run again`);
  }
  const starts = lines.flatMap((l, i) => (l === begin(orgName) ? [i] : []));
  const ends = lines.flatMap((l, i) => (l === end(orgName) ? [i] : []));
  // Each block closed before the next opens. More than one: the printed block appended again, which repeats every
  // profile and makes the AWS CLI refuse the whole file; every line in them is xstack's, so they fold into one when
  // they are one block appended again or this run writes every profile they hold (below).
  if (starts.length !== ends.length || starts.some((first, k) => ends[k] < first || (k > 0 && first < ends[k - 1]))) {
    throw new ProfilesError(`the config holds a broken xstack block for '${orgName}'; fix or remove it by hand (lines starting '# >>> xstack ${orgName}' and '# <<< xstack ${orgName}')`);
  }
  const inBlock = (line: number) => starts.some((first, k) => first <= line && line <= ends[k]);
  const foreign = othersProfiles(lines, inBlock, prefix);
  if (foreign.length > 0) {
    const lineRanges = starts.map((first, k) => `${first + 1}-${ends[k] + 1}`).join(', ');
    const shown = foreign.slice(0, 3).map((d) => `${d.name} (line ${d.line + 1})`).join(', ') + (foreign.length > 3 ? ` and ${foreign.length - 3} more` : '');
    throw new ProfilesError(
      `refusing to replace xstack's block for '${orgName}' (lines ${lineRanges}): it holds profiles this org does not write (its profiles are named ${prefix}-… and assume its ${prefix}-… roles): ${shown}; ` +
        `another org file named like this one wrote them (the block is named after the file's name), or they were added by hand, and replacing the block would remove them. ` +
        `Write to another config file (--write FILE, used with AWS_CONFIG_FILE=FILE), or rename this org file and its layout file (${orgName}.layout.json) with it (its block is then another); move a profile of your own out of the block; ` +
        `if they are this org's own from before its prefix changed, delete the block (from '# >>> xstack ${orgName}' to '# <<< xstack ${orgName} <<<'), then run again`,
    );
  }
  const block = `${begin(orgName)}\n${renderProfiles(profiles)}${end(orgName)}`;
  const names = new Set(profiles.map((p) => p.name));
  const defined = definedProfiles(lines);
  const outside = defined.filter((d) => names.has(d.name) && !inBlock(d.line));
  if (outside.length > 0) throw new ProfilesError(clashMessage(outside, xstackBlocks(lines)));
  // Copies fold into one only when they are one block appended again (each the same text, replaced as one block is), or
  // when this run writes every profile they hold: blocks of one name that hold others (an earlier xstack printed CI
  // profiles under the developers' block name) would lose them (review s36-diff M2).
  const copyText = (k: number) => lines.slice(starts[k], ends[k] + 1).join('\n');
  const sameCopies = starts.every((_, k) => copyText(k) === copyText(0));
  const others = starts.length > 1 && !sameCopies ? defined.filter((d) => inBlock(d.line) && !names.has(d.name)) : [];
  if (others.length > 0) {
    const copies = starts.map((first, k) => `${first + 1}-${ends[k] + 1}`).join(', ');
    throw new ProfilesError(
      `the config holds ${starts.length} xstack blocks for '${orgName}' (lines ${copies}), which hold profiles this run does not write: ${others.map((d) => `${d.name} (line ${d.line + 1})`).join(', ')}; ` +
        `delete the copy that holds them (CI profiles have a block of their own now: profiles --for ci --write writes them there again), then run again`,
    );
  }
  if (starts.length > 0) {
    const before = lines.slice(0, starts[0]).join('\n');
    // Between and after the copies, the user's lines, kept as they are.
    const rest = lines.filter((_, i) => i > ends[0] && !inBlock(i)).join('\n');
    return `${before}${before ? '\n' : ''}${block}\n${rest}`;
  }
  const separator = existing === '' ? '' : existing.endsWith('\n\n') ? '' : existing.endsWith('\n') ? '\n' : '\n\n';
  return `${existing}${separator}${block}\n`;
}

/**
 * Where the CI's own credentials come from, as the AWS config's
 * base for the pull-only role profiles:
 * https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-role.html
 * - EC2: the instance profile (credential_source = Ec2InstanceMetadata);
 * - EKS Pod Identity: the container credentials endpoint the agent serves
 *   (credential_source = EcsContainer, which reads AWS_CONTAINER_CREDENTIALS_FULL_URI);
 * - IRSA: the service account's token, exchanged for the CI role
 *   (a base profile with web_identity_token_file, at the path EKS mounts it).
 */
function ciBase(org: Org, names: Names, profiles: Profile[], fips: Array<[string, string]>): [string, string] {
  const runtime = org.access.ci!.runtime;
  if (runtime.kind === 'ec2') return ['credential_source', 'Ec2InstanceMetadata'];
  if (runtime.kind === 'eks-pod-identity') return ['credential_source', 'EcsContainer'];
  const base = `${org.prefix}-ci-base`;
  const account = org.accounts.find((a) => a.name === org.access.ci!.account)!;
  profiles.push({
    name: base,
    settings: [
      ['role_arn', `arn:${org.partition}:iam::${account.id}:role/${names.ciInstanceRole()}`],
      ['web_identity_token_file', '/var/run/secrets/eks.amazonaws.com/serviceaccount/token'],
      ['region', org.region],
      STS_REGIONAL,
      ...fips,
    ],
  });
  return ['source_profile', base];
}
