#!/usr/bin/env node
/** xstack command line: parses arguments, calls the library, renders results. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compileOrg, type CompiledOrg } from './compile';
import { XstackError } from './errors';
import { loadOrgFile } from './org/load';
import { replaceFolder } from './write';
import { generateProfiles, renderProfiles, type ProfileIdentity } from './access/profiles';
import { writeProfiles } from './access/config-file';

const USAGE = `usage:
  xstack compile [ORG_FILE ...] [--out DIR]
  xstack plan    ORG_FILE [AWS options] [--json] [--detailed-exitcode]
  xstack deploy  ORG_FILE [AWS options]
  xstack destroy ORG_FILE [AWS options] [--yes] [--delete-retained]
  xstack verify  ORG_FILE [AWS options] [--manifest FILE]
  xstack bootstrap ORG_FILE [AWS options] [--dry-run] [--access-role NAME]
  xstack audit   ORG_FILE [--out DIR]
  xstack profiles ORG_FILE --for developer|ci [--source-profile NAME]
                 [--sso-session S --sso-account-id ID --sso-role NAME] [--write FILE]

compile   each organization file (default: every parameters/*.yaml) to
          DIR/<file stem>/ (default DIR: dist): templates, per-account
          parameter files, manifest.json. DIR is replaced as a whole, or left
          as it was if anything fails.
plan      what deploy would do, per StackSet; changes nothing. With
          --detailed-exitcode: 0 no changes, 2 changes, 1 error.
deploy    rolls the org out with StackSets, wave by wave, wiring outputs into
          parameters. Running it again finishes an interrupted rollout.
destroy   removes stack instances and StackSets in reverse order; artifact
          buckets, keys and repositories are retained, unless
          --delete-retained: buckets emptied and deleted, keys scheduled for
          deletion (7 days); repositories always stay. Asks unless --yes.

verify    compares every deployed StackSet's template with the manifest's
          SHA-256 (default manifest: dist/<org>/manifest.json) and every
          instance's parameters with the compile, and runs StackSet drift
          detection where the endpoint supports it. Exit 0: as compiled;
          2: differences; 1: error.
bootstrap what a rollout needs first. SELF_MANAGED: the StackSet administration
          role (this account) and, in every target account (reached through
          --access-role, default OrganizationAccountAccessRole), the execution
          role with a policy derived from the compiled templates.
          SERVICE_MANAGED: read-only checks of trusted access, the delegated
          administrator and the management account. --dry-run: report only.
          Exit 1 if a check fails.
audit     writes the auditor's bundle (report.html, report.md, rollout.svg)
          to DIR (default dist/<org>/audit); make compile writes it too.
profiles  AWS CLI profiles for the developer or CI roles of every source
          account, and the codecommit::REGION://PROFILE@REPO clone URL of every
          repository. Developers: role_arn with source_profile (default
          'default'), or an IAM Identity Center base profile (--sso-*). CI:
          credential_source Ec2InstanceMetadata. --write merges them into an
          AWS config file: only xstack's own marked block is replaced, a backup
          is kept (FILE.xstack-backup), profiles it did not write are never
          overwritten.

AWS options: --profile NAME, --region REGION (where the StackSets live;
default: the org's region), --endpoint URL (default: AWS_ENDPOINT_URL or AWS),
--output-reader-role NAME (role assumed in each account to read outputs;
default: the StackSet execution role), --local (start moto's server on
127.0.0.1, bootstrap the org there, run against it, stop it).`;

class UsageError extends Error {}

interface Args {
  command: 'compile' | 'plan' | 'deploy' | 'destroy' | 'profiles' | 'verify' | 'audit' | 'bootstrap';
  files: string[];
  out: string;
  flags: Set<string>;
  options: Map<string, string>;
}

const FLAGS = new Set(['--json', '--detailed-exitcode', '--local', '--yes', '--delete-retained', '--dry-run']);
const OPTIONS = new Set([
  '--out', '--profile', '--region', '--endpoint', '--output-reader-role',
  '--for', '--source-profile', '--sso-session', '--sso-account-id', '--sso-role', '--write', '--manifest', '--access-role',
]);

function parseArgs(argv: string[]): Args {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') throw new UsageError('');
  if (!['compile', 'plan', 'deploy', 'destroy', 'profiles', 'verify', 'audit', 'bootstrap'].includes(command)) throw new UsageError(`unknown command '${command}'`);
  const args: Args = { command: command as Args['command'], files: [], out: 'dist', flags: new Set(), options: new Map() };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (FLAGS.has(arg)) args.flags.add(arg);
    else if (OPTIONS.has(arg)) {
      const value = rest[++i];
      if (!value || value.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      args.options.set(arg, value);
    } else if (arg.startsWith('-')) throw new UsageError(`unknown option '${arg}'`);
    else args.files.push(arg);
  }
  args.out = args.options.get('--out') ?? 'dist';
  if (args.command !== 'compile' && args.files.length !== 1) throw new UsageError(`${args.command} takes exactly one organization file`);
  return args;
}

const defaultOrgFiles = () =>
  readdirSync('parameters')
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => join('parameters', f));

function summary(c: CompiledOrg, out: string): string {
  const lines = [`${c.org.file} → ${join(out, c.org.name)}/: ${c.stages.length} stages in ${c.rollout.waves.length} waves, ${c.files.size} files`];
  c.rollout.waves.forEach((wave, i) => lines.push(`  wave ${i + 1}: ${wave.join(', ')}`));
  for (const s of c.stages) for (const note of s.notes) lines.push(`  note ${s.id}: ${note}`);
  return lines.join('\n');
}

function compileCommand(args: Args): number {
  const files = args.files.length > 0 ? args.files : defaultOrgFiles();
  if (files.length === 0) throw new UsageError('no organization files in parameters/');
  const compiled = files.map((f) => compileOrg(loadOrgFile(f)));
  const names = new Set<string>();
  const all = new Map<string, string>();
  for (const c of compiled) {
    if (names.has(c.org.name)) throw new UsageError(`two organization files are named '${c.org.name}'`);
    names.add(c.org.name);
    for (const [path, text] of c.files) all.set(`${c.org.name}/${path}`, text);
  }
  replaceFolder(args.out, all);
  process.stdout.write(`${compiled.map((c) => summary(c, args.out)).join('\n')}\n`);
  return 0;
}

function auditCommand(args: Args): number {
  const compiled = compileOrg(loadOrgFile(args.files[0]));
  const out = args.options.get('--out') ?? join('dist', compiled.org.name, 'audit');
  const audit = new Map([...compiled.files].filter(([p]) => p.startsWith('audit/')).map(([p, t]) => [p.slice('audit/'.length), t]));
  replaceFolder(out, audit);
  process.stdout.write(`${out}/: ${[...audit.keys()].join(', ')}\n`);
  return 0;
}

function profilesCommand(args: Args): number {
  const org = loadOrgFile(args.files[0]);
  const who = args.options.get('--for');
  const sso = ['--sso-session', '--sso-account-id', '--sso-role'].map((o) => args.options.get(o));
  let identity: ProfileIdentity;
  if (who === 'ci') identity = { kind: 'ci' };
  else if (who === 'developer' && sso.some(Boolean)) {
    if (!sso.every(Boolean)) throw new UsageError('--sso-session, --sso-account-id and --sso-role go together');
    if (!/^\d{12}$/.test(sso[1]!)) throw new UsageError(`--sso-account-id '${sso[1]}' is not a 12-digit account id`);
    identity = { kind: 'developer-sso', ssoSession: sso[0]!, ssoAccountId: sso[1]!, ssoRoleName: sso[2]! };
  } else if (who === 'developer') identity = { kind: 'developer', sourceProfile: args.options.get('--source-profile') ?? 'default' };
  else throw new UsageError("profiles needs --for developer or --for ci");
  const generated = generateProfiles(org, identity);
  const file = args.options.get('--write');
  if (file) {
    const result = writeProfiles(file, org.name, generated.profiles);
    process.stdout.write(
      result.changed ? `${file}: wrote ${generated.profiles.length} profiles${result.backup ? ` (previous file kept as ${result.backup})` : ''}\n` : `${file}: already up to date\n`,
    );
  } else process.stdout.write(renderProfiles(generated.profiles));
  process.stdout.write(`\n# clone URLs (git-remote-codecommit)\n${generated.cloneUrls.map((c) => `git clone ${c.url}`).join('\n')}\n`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (error.message) process.stderr.write(`xstack: ${error.message}\n`);
    (error.message ? process.stderr : process.stdout).write(`${USAGE}\n`);
    return error.message ? 2 : 0;
  }
  try {
    if (args.command === 'compile') return compileCommand(args);
    if (args.command === 'profiles') return profilesCommand(args);
    if (args.command === 'audit') return auditCommand(args);
    // The deployer and the AWS SDK load only for the commands that talk to AWS.
    const { awsCommand } = await import('./deploy/command.js');
    return await awsCommand(args.command as 'plan' | 'deploy' | 'destroy' | 'verify' | 'bootstrap', compileOrg(loadOrgFile(args.files[0])), args.flags, args.options);
  } catch (error) {
    if (error instanceof XstackError || error instanceof UsageError) {
      process.stderr.write(`xstack: ${error.message}\n`);
      if (args.command === 'compile') process.stderr.write(`${args.out} was left as it was.\n`);
      return 1;
    }
    throw error;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error) => {
      process.stderr.write(`xstack: internal error: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
