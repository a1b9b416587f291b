#!/usr/bin/env node
/**
 * xstack command line: parses arguments (commander), calls the library,
 * renders results. Each command is one `register*` function below; adding a
 * command is writing one more and listing it in COMMANDS.
 *
 * Exit codes: 0 ok; 1 error; 2 changes or differences (plan
 * --detailed-exitcode, verify); 64 usage error (EX_USAGE, sysexits.h), so
 * that a misspelt flag in CI never reads as drift.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Command, CommanderError, Option } from 'commander';
import { compileOrg, type CompiledOrg } from './compile';
import { renderTemplate } from './cfn/template';
import { CompileError, EXIT, OrgFileError, userMessage, XstackError } from './errors';
import { loadOrgFile } from './org/load';
import type { Org } from './org/model';
import { orgJsonSchemaText, schemaStampOf } from './org/json-schema';
import { closest } from './org/schema';
import { serviceData } from './checks/iam-data';
import { globRegExp } from './checks/service-authorization';
import { packageRoot } from './package-root';
import { discardStaged, fileTargetProblem, lockOutput, outputRootProblem, replaceOwnedFolder, settleSignals, stageOwnedFolder, swapStaged, OutputError, writeFileAtomic, type Owner, type Staged } from './write';
import { sharedIamNames } from './org/overlap';
import { CREDENTIAL_SOURCES, generateProfiles, profileBlock, renderGitEnvironment, renderProfileConfig, ssoSignInMismatch, type CredentialSource, type ProfileIdentity } from './access/profiles';
import { backupNote, configFileProblem, makeDefaultConfigFolder, writeProfiles } from './access/config-file';
import { explain, renderAnswers, unreadContextKeys } from './audit/explain';
import { sourceRevision } from './audit/revision';
import { previousOrgNotes, previousTemplateHashes, readPreviousModel } from './audit/since';
import { recordLayout } from './stages/layout';
import { registerLocal } from './local-command';
import { regionProblem, usesFipsCodeCommit, type Partition } from './aws/partitions';
import { endpointProblem } from './aws/endpoint';

/** A mistake in how xstack was called: exits 64 with a hint to --help. */
export class UsageError extends XstackError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

type AwsCommandName = 'plan' | 'deploy' | 'destroy' | 'verify' | 'bootstrap';

/** The context a failing command's message is written in (which profile, which endpoint). */
interface RunContext {
  command: string;
  options: Record<string, unknown>;
}

/** Output lines; `write` keeps working (as a no-op) after the reader has gone away (`| head`). */
const out = (text: string) => void process.stdout.write(text);

const defaultOrgFiles = () => {
  if (!existsSync('parameters')) throw new UsageError("no organization file given and no parameters/ folder here; run 'xstack compile ORG_FILE'");
  return readdirSync('parameters')
    // Hidden files are not org files (an editor's, or one set aside): their names would make hidden output folders.
    .filter((f) => (f.endsWith('.yaml') || f.endsWith('.yml')) && !f.startsWith('.'))
    .sort()
    .map((f) => join('parameters', f));
};

/**
 * A path to write that names nothing (`--out ""`, `--out " "`: an unset variable, a stray quote; a folder named by
 * spaces reads as no name in every message), or whose first component is `~` or `~user`, as given in `--out=~/dist`
 * or `--out "~/dist"`: the shell expands `~` only at the start of a word and unquoted (not after `=`), so xstack would
 * make a folder named `~` here, and its summary would read as the home folder. Refused, saying what to type.
 */
function refuseUnusablePath(option: string, path: string | undefined): void {
  if (path?.trim() === '') throw new UsageError(`${option} ${JSON.stringify(path)}: the path is ${path === '' ? 'empty' : 'only white space'}; give the path to write (was a shell variable unset?)`);
  const first = path?.split('/')[0];
  if (path === undefined || !first?.startsWith('~')) return;
  const home = first === '~' ? ` or ${option} "$HOME${path.slice(1)}"` : '';
  throw new UsageError(
    `${option} ${path}: the shell did not expand '${first}' (it does not after '=' or inside quotes), so xstack would take '${first}' as a name in the current folder; ` +
      `write ${option} ${path} (after a space, unquoted)${home}, or ./${path} if that name is meant`,
  );
}

/** The options that name a path to write, whose empty value refuseUnusablePath refuses with its own words. */
const PATH_OPTIONS = new Set(['--out', '--write']);

/**
 * An option's value that is no value (review s59-cli m1, m2): one that starts with `-`, which commander gives a
 * required value even when it is the next option (`--out --revision` would write a folder named `--revision`), and an
 * empty one (`--profile "$PROFILE"` with the variable unset would fall back to the default credentials, another
 * account's perhaps; explain's `--action ""` would filter nothing, unsaid). Refused before the command runs.
 */
function refuseUnusableValues(command: Command): void {
  const values = command.opts() as Record<string, unknown>;
  for (const option of command.options) {
    const value = values[option.attributeName()];
    if (typeof value !== 'string' || !(option.required || option.optional)) continue;
    const name = option.long ?? option.short ?? option.flags;
    if (value.startsWith('-')) {
      throw new UsageError(`${name} ${value}: the value looks like an option, so ${name} was given none; give ${name} its value${PATH_OPTIONS.has(name) || name === '--since' || name === '--manifest' ? ` (for a path that starts with '-', write ./${value})` : ''}`);
    }
    if (value.trim() === '' && !PATH_OPTIONS.has(name)) throw new UsageError(`${name} ${JSON.stringify(value)}: is ${value === '' ? 'empty' : 'only white space'}; give a value, or leave the option out (was a shell variable unset?)`);
  }
}

function summary(c: CompiledOrg, outDir: string): string {
  // The marker counted too: the number is what the folder holds.
  const lines = [`${c.org.file} → ${join(outDir, c.org.name)}/: ${c.stages.length} stages in ${c.rollout.waves.length} waves, ${c.files.size + 1} files`];
  c.rollout.waves.forEach((wave, i) => lines.push(`  wave ${i + 1}: ${wave.join(', ')}`));
  for (const s of c.stages) for (const note of s.notes) lines.push(`  note ${s.id}: ${note}`);
  for (const note of c.notes) lines.push(`  note: ${note}`);
  return lines.join('\n');
}

/** Every org file read and checked; the problems of every invalid one said together, not the first file's alone (review s38-cli m2). */
function loadOrgFiles(files: readonly string[]): Org[] {
  const orgs: Org[] = [];
  const invalid: Array<{ file: string; error: XstackError }> = [];
  for (const file of files) {
    try {
      orgs.push(loadOrgFile(file));
    } catch (error) {
      if (!(error instanceof OrgFileError) && !(error instanceof XstackError && error.code === 'ORG_FILE_UNREADABLE')) throw error;
      invalid.push({ file, error });
    }
  }
  if (invalid.length === 1) throw invalid[0]!.error;
  // A file that cannot be read is one problem among the others' (review s39-diff nit 2); "files": an org file's
  // layout file beside it has problems of its own (OrgFileError's `what`).
  const problemsOf = ({ file, error }: (typeof invalid)[number]) => (error instanceof OrgFileError ? error.problems : [{ file, field: '(file)', message: error.message }]);
  if (invalid.length > 1) throw new OrgFileError(invalid.flatMap(problemsOf), `${invalid.length} files`);
  return orgs;
}

/**
 * The compile's first half: every org file read, checked and compiled in memory, nothing written; an error it raises
 * (but for a usage error, and a refused output folder, which say what they left) is followed by "Nothing was written."
 * (review s38-helpers-diff H11).
 */
function compileInMemory(given: string[], opts: CompileCommandOptions): { compiled: CompiledOrg[]; unrevised: string[] } {
  refuseUnusablePath('--out', opts.out);
  // One file named twice (org.yaml ./org.yaml, or once through a symbolic link) is compiled once, not refused as
  // clashing with itself (review s50-input m7).
  const same = (f: string) => {
    try {
      return realpathSync(f);
    } catch {
      return resolve(f);
    }
  };
  const files = (given.length > 0 ? given : defaultOrgFiles()).filter((f, i, all) => all.findIndex((g) => same(g) === same(f)) === i);
  if (files.length === 0) throw new UsageError('no organization files in parameters/');
  const rootProblem = outputRootProblem(opts.out, files);
  if (rootProblem) throw new OutputError(rootProblem);
  const orgs = loadOrgFiles(files);
  // The git revision only when asked: committed dist/ must not change with every commit.
  const revisions = files.map((f) => (opts.revision ? sourceRevision(f) : undefined));
  // Asked for and not found: said, not left for the reader of the manifest to notice (review s38-cli m9).
  const unrevised = opts.revision ? files.filter((_, i) => revisions[i] === undefined) : [];
  const compiled = orgs.map((org, i) => compileOrg(org, { revision: revisions[i] }));
  const shared = sharedIamNames(compiled.map((c) => c.org));
  if (shared.length > 0) throw new XstackError('ORG_OVERLAP', shared.join('\n'));
  // Names that differ only in case are one folder on macOS's and Windows' file systems.
  const names = new Map<string, CompiledOrg>();
  for (const c of compiled) {
    const other = names.get(c.org.name.toLowerCase());
    if (other) {
      const same = other.org.name === c.org.name;
      const why = same ? 'their names without the extension are the same' : 'names differing only in case are one folder on some file systems';
      // An input conflict, not a usage mistake: exit 1, as for the same files found in one folder (same-stem refusal).
      throw new XstackError('ORG_OVERLAP', `${other.org.file} and ${c.org.file} would both compile to ${join(opts.out, c.org.name)}/ (${why}); rename one${same ? ', or compile each with its own --out' : ''}`);
    }
    names.set(c.org.name.toLowerCase(), c);
  }
  // A layout --frozen-layout refuses stops the run before anything is made (it writes no layout file: it only checks).
  if (opts.frozenLayout) for (const c of compiled) recordLayout(c.org, c.layout, { frozen: true });
  return { compiled, unrevised };
}

type CompileCommandOptions = { out: string; revision?: boolean; frozenLayout?: boolean };

/** Errors raised before anything was written or staged (compileInMemory): main says so. */
const raisedBeforeWriting = new WeakSet<object>();

/**
 * Every org compiled in memory first, every target folder checked, then each
 * `DIR/<org>/` replaced on its own: other orgs' folders and anything else in
 * DIR stay as they were.
 */
function compileCommand(given: string[], opts: CompileCommandOptions): number {
  let compiled: CompiledOrg[];
  let unrevised: string[];
  try {
    ({ compiled, unrevised } = compileInMemory(given, opts));
  } catch (error) {
    if (error instanceof XstackError && !(error instanceof UsageError) && !(error instanceof OutputError)) raisedBeforeWriting.add(error);
    throw error;
  }
  const owner = (c: CompiledOrg): Owner => ({ command: 'compile', org: c.org.name, orgFile: c.org.recordedFile });
  const dirOf = (c: CompiledOrg) => join(opts.out, c.org.name);
  const releases: Array<() => void> = [];
  const staged: Staged[] = [];
  try {
    // Held from the checks to the swaps: another xstack writing one of these folders is refused, not interleaved.
    for (const c of compiled) releases.push(lockOutput(dirOf(c)));
    // Every org's folder checked (replaceProblem) and written beside its target first: a refusal or a failure there (a
    // full disk) leaves every folder and layout file as it was.
    for (const c of compiled) staged.push(stageOwnedFolder(dirOf(c), c.files, owner(c)));
  } catch (error) {
    for (const s of staged) discardStaged(s);
    for (const release of releases) release();
    // Put back before the refusal (a folder a killed run had set aside) is the one change: said (review s38-delta D4).
    const putBack = staged.flatMap((s) => s.warnings.filter((w) => w.startsWith('note: ')));
    if (compiled.length > 1 && error instanceof OutputError) {
      throw new OutputError(`${error.message}; no other organization's folder or layout file was changed either${putBack.length > 0 ? `, but for what was put back (${putBack.map((w) => w.slice('note: '.length)).join('; ')})` : ''}`);
    }
    throw error;
  }
  try {
    // Then the layout: a dist/ written from a layout is never left without it (a compile that reads it makes the same dist/).
    // A layout --frozen-layout refuses stops here, every staged folder thrown away.
    const recorded: Array<ReturnType<typeof recordLayout>> = [];
    try {
      for (const c of compiled) recorded.push(recordLayout(c.org, c.layout, { frozen: opts.frozenLayout }));
    } catch (error) {
      for (const s of staged) discardStaged(s);
      // An earlier org's layout file written before a later one failed (a full disk): said, as the swap's failure says it.
      const written = recorded.filter((r) => r.message).length;
      throw written > 0 && error instanceof OutputError ? new OutputError(`${error.message}; no folder was replaced, and ${written} layout file${written === 1 ? ' was' : 's were'} written: run compile again`) : error;
    }
    const warnings: string[] = [];
    const swapped: string[] = [];
    staged.forEach((s, i) => {
      try {
        warnings.push(...swapStaged(s));
        swapped.push(s.dir);
      } catch (error) {
        for (const rest of staged.slice(i + 1)) discardStaged(rest);
        const written = recorded.filter((r) => r.message).length;
        const done = [swapped.length > 0 ? `${swapped.join(', ')} ${swapped.length === 1 ? 'was' : 'were'} replaced` : '', written > 0 ? `${written} layout file${written === 1 ? ' was' : 's were'} written` : ''].filter(Boolean);
        throw done.length > 0 && error instanceof OutputError ? new OutputError(`${error.message}; ${done.join(' and ')}${error.retryable ? ': run compile again' : ''}`, error.retryable) : error;
      }
    });
    out(`${compiled.map((c, i) => [summary(c, opts.out), recorded[i].message].filter(Boolean).join('\n')).join('\n')}\n`);
    for (const warning of [...recorded.map((r) => r.warning), ...warnings]) if (warning) process.stderr.write(`${warning}\n`);
    for (const file of unrevised) process.stderr.write(`note: --revision: no git revision could be read for ${file} (outside a git work tree, in a repository with no commit yet, or git not installed), so none was recorded for it\n`);
    return EXIT.ok;
  } finally {
    for (const release of releases) release();
  }
}

function auditCommand(file: string, opts: { out?: string; since?: string }): number {
  refuseUnusablePath('--out', opts.out);
  const org = loadOrgFile(file);
  const model = opts.since ? readPreviousModel(opts.since) : undefined;
  const since = opts.since && model ? { label: opts.since, model, notes: previousOrgNotes(opts.since, model, org), templates: previousTemplateHashes(opts.since) } : undefined;
  const compiled = compileOrg(org, { revision: sourceRevision(file), since });
  // Outside the compile's dist/<org>/, whose manifest.json hashes every file in it (replaceOwnedFolder refuses a folder inside it).
  const dir = opts.out ?? join('audit', compiled.org.name);
  const rootProblem = outputRootProblem(dir, [file]);
  if (rootProblem) throw new OutputError(rootProblem);
  const audit = new Map([...compiled.files].filter(([p]) => p.startsWith('audit/')).map(([p, t]) => [p.slice('audit/'.length), t]));
  const warnings = replaceOwnedFolder(dir, audit, { command: 'audit', org: compiled.org.name, orgFile: compiled.org.recordedFile });
  out(`${dir}/: ${[...audit.keys()].join(', ')}\n`);
  for (const note of since?.notes ?? []) process.stderr.write(`xstack: note: --since ${since!.label}: ${note}\n`);
  for (const warning of warnings) process.stderr.write(`${warning}\n`);
  return EXIT.ok;
}

interface ExplainOptions {
  principal?: string;
  action?: string;
  resource?: string;
  context?: string;
  json?: boolean;
}

/**
 * An --action that names no IAM action (a typo: kms:Decrpyt) matches nothing, and "no request matches" would read as
 * an answer: it is a usage error with IAM's nearest action, from the Service Authorization Reference's data.
 */
function unknownAction(action: string): string | undefined {
  // IAM reads a service prefix in any case (KMS:Decrypt is kms:Decrypt): looked up in lower case.
  const match = /^([A-Za-z0-9-]+):([A-Za-z0-9]+)$/.exec(action);
  if (!match && /[*?]/.test(action)) return undefined; // a pattern: matched as given
  if (!match) {
    // No service prefix (Decrypt), or another separator (kms.Decrypt): it would match no statement (review s38-cli M6).
    const separated = /^([A-Za-z0-9-]+)[^A-Za-z0-9-]+([A-Za-z0-9]+)$/.exec(action);
    const meant = separated && serviceData(separated[1].toLowerCase())?.action(separated[2]) ? `${separated[1].toLowerCase()}:${separated[2]}` : undefined;
    return `--action ${action} is not service:Action${meant ? ` (did you mean ${meant}?)` : ''}; expected an IAM action, e.g. kms:Decrypt, or a pattern with * or ?, e.g. kms:* or *:Decrypt`;
  }
  const prefix = match[1].toLowerCase();
  const service = serviceData(prefix);
  if (!service) return `--action ${action}: IAM has no service '${match[1]}'; expected service:Action, e.g. kms:Decrypt`;
  if (service.action(match[2])) return undefined;
  const near = closest(match[2], service.actions().map((a) => a.name));
  return `--action ${action}: ${prefix} has no action '${match[2]}'${near ? ` (did you mean ${prefix}:${near}?)` : ''}`;
}

function explainCommand(file: string, opts: ExplainOptions): number {
  // An empty filter (an unset shell variable) is refused before any command runs (refuseUnusableValues; review s50-input N8).
  const wrongAction = opts.action ? unknownAction(opts.action) : undefined;
  if (wrongAction) throw new UsageError(wrongAction);
  const context = opts.context ? parseContext(opts.context) : undefined;
  const org = loadOrgFile(file);
  const wrongArn = arnProblem('--principal', opts.principal, org.partition) ?? arnProblem('--resource', opts.resource, org.partition);
  if (wrongArn) throw new UsageError(wrongArn);
  const compiled = compileOrg(org);
  const answers = explain(compiled, { principal: opts.principal, action: opts.action, resource: opts.resource, context });
  const wrongPrincipal = answers.length === 0 && opts.principal ? unknownRoleName(compiled, opts.principal) : undefined;
  if (wrongPrincipal) throw new UsageError(wrongPrincipal);
  // Not an error: a key no condition reads changes no answer, which still stands (review s38-cli M6).
  for (const { key, near } of unreadContextKeys(compiled, Object.keys(context ?? {}))) {
    process.stderr.write(`xstack: note: --context ${key}: no statement of the compiled org reads this key, so it changes no answer${near ? ` (did you mean ${near}?)` : ''}\n`);
  }
  out(opts.json ? `${JSON.stringify(answers, null, 2)}\n` : renderAnswers(answers));
  return EXIT.ok;
}

/**
 * An ARN given as --principal or --resource that no ARN can equal (a partition not the org's, an account id of 11
 * digits), which would be answered "no request matches" (review s38-cli M6). The format, "arn:partition:service:region:
 * account-id:resource-…", the account "without the hyphens. For example, 123456789012", omitted by "the ARNs for some
 * resources" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html): an empty or `aws` account is
 * refused only where none of the service's ARN formats in the Service Authorization Reference has one. A part with * or
 * ? is a pattern, taken as given.
 */
function arnProblem(option: string, arn: string | undefined, partition: Partition): string | undefined {
  if (!arn?.startsWith('arn:')) return undefined;
  const shape = 'arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE';
  const parts = arn.split(':');
  const pattern = (part: string) => /[*?]/.test(part);
  const otherPartition = (given: string) => `${option} ${arn}: partition '${given}' is not the org's; its ARNs are arn:${partition}:…`;
  const notAPrincipal = (service: string) => `${option} ${arn}: a principal's ARN is IAM's or STS's (service '${service}' has none); expected e.g. arn:${partition}:iam::123456789012:role/NAME`;
  // explain's * spans colons (arn:${partition}:kms:* is every KMS request): the parts from the first that holds a wildcard on
  // are not the parts they stand at, so only those before it are checked (review s38-helpers-diff H1).
  const wild = parts.findIndex(pattern);
  if (wild >= 0 && wild < 5) {
    if (wild > 1 && parts[1] !== partition) return otherPartition(parts[1]);
    if (wild > 2 && option === '--principal' && parts[2] !== 'iam' && parts[2] !== 'sts') return notAPrincipal(parts[2]);
    return undefined;
  }
  if (parts.length < 6) return `${option} ${arn} is not an ARN: expected ${shape}, e.g. arn:${partition}:iam::123456789012:role/NAME`;
  const [, arnPartition, service, , account] = parts;
  if (pattern(arnPartition) ? !globRegExp(arnPartition).test(partition) : arnPartition !== partition) return otherPartition(arnPartition);
  if (option === '--principal' && !pattern(service) && service !== 'iam' && service !== 'sts') return notAPrincipal(service);
  if (pattern(account) || /^\d{12}$/.test(account)) return undefined;
  if ((account === '' || account === 'aws') && option === '--resource') {
    const formats = pattern(service) ? undefined : serviceData(service)?.resourceTypes;
    const accounts = new Set([...(formats?.values() ?? [])].map((t) => t.arn.split(':')).filter((p) => p[2] === service).map((p) => p[4]));
    if (accounts.size === 0 || accounts.has(account)) return undefined;
  }
  const what = account === '' ? 'names no account' : `has '${account}' for its account, which is not a 12-digit account id`;
  return `${option} ${arn} ${what}; ${service}'s ARNs name the 12-digit id of the account (${shape}, e.g. 123456789012)`;
}

/**
 * A bare role name that no role of the compiled org has (a typo), said as a usage error, as a misspelt --action is:
 * "No request matches" would read as "no access" (review s30-cli m6). An ARN or a pattern is the user's to mean.
 */
function unknownRoleName(compiled: CompiledOrg, principal: string): string | undefined {
  if (principal.startsWith('arn:') || /[*?]/.test(principal) || principal.includes('.amazonaws.com')) return undefined;
  const names = new Set([...compiled.org.keyAdministratorRoles, compiled.org.stackSets.executionRoleName, ...(compiled.org.deploymentTargets.instanceRoles ?? [])].map((r) => r.split('/').pop()!));
  for (const stage of compiled.stages) {
    for (const resource of Object.values(renderTemplate(stage.definition).Resources)) {
      const name = resource.Type === 'AWS::IAM::Role' ? resource.Properties?.RoleName : undefined;
      const text = typeof name === 'string' ? name : (name as { 'Fn::Sub'?: unknown } | undefined)?.['Fn::Sub'];
      if (typeof text === 'string') names.add(text);
    }
  }
  // A name's ${AWS::AccountId} (a source role's) stands for any run of one character or more.
  const fits = (name: string) => globRegExp(name.replace(/\$\{[^}]*\}/g, '?*')).test(principal);
  if ([...names].some(fits)) return undefined;
  const near = closest(principal, [...names]);
  return `--principal ${principal}: no role of the compiled org has that name${near ? ` (did you mean ${near}?)` : ''}; expected one of its roles' names, an ARN or a pattern (* and ?)`;
}

function parseContext(text: string): Record<string, string[]> {
  const context: Record<string, string[]> = {};
  for (const pair of text.split(';')) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--context '${pair}' is not KEY=VALUE; expected e.g. codecommit:References=refs/heads/main`);
    (context[pair.slice(0, at).trim()] ??= []).push(pair.slice(at + 1).trim());
  }
  return context;
}

interface ProfilesOptions {
  for: 'developer' | 'maintainer' | 'ci';
  sourceProfile?: string;
  credentialSource?: CredentialSource;
  ssoSession?: string;
  ssoAccountId?: string;
  ssoRole?: string;
  sessionName?: string;
  write?: string;
}

function profilesCommand(file: string, opts: ProfilesOptions): number {
  refuseUnusablePath('--write', opts.write);
  const org = loadOrgFile(file);
  const sso = [opts.ssoSession, opts.ssoAccountId, opts.ssoRole];
  let identity: ProfileIdentity;
  if (opts.for === 'ci') {
    if (opts.sourceProfile || opts.credentialSource || opts.sessionName || sso.some(Boolean)) throw new UsageError('--source-profile, --credential-source, --sso-* and --session-name apply to --for developer or maintainer only');
    identity = { kind: 'ci' };
  } else if (sso.some(Boolean)) {
    if (!sso.every(Boolean)) throw new UsageError('--sso-session, --sso-account-id and --sso-role go together');
    if (opts.sourceProfile || opts.credentialSource) throw new UsageError(`${opts.sourceProfile ? '--source-profile' : '--credential-source'} and --sso-* are two ways of signing in; give one`);
    if (!/^\d{12}$/.test(opts.ssoAccountId!)) throw new UsageError(`--sso-account-id '${opts.ssoAccountId}' is not a 12-digit account id`);
    // sso_role_name is the permission set's name, as `aws configure sso` writes it; the role Identity Center provisions
    // from it (AWSReservedSSO_<set>_<suffix>) signs in but gets no credentials (GetRoleCredentials takes the set's name).
    const provisioned = /^AWSReservedSSO_(.+)_[0-9a-f]+$/.exec(opts.ssoRole!);
    if (provisioned) throw new UsageError(`--sso-role '${opts.ssoRole}' is the role IAM Identity Center provisions; give the permission set's name, '${provisioned[1]}'`);
    identity = { kind: 'developer-sso', ssoSession: opts.ssoSession!, ssoAccountId: opts.ssoAccountId!, ssoRoleName: opts.ssoRole! };
  } else if (opts.credentialSource) {
    if (opts.sourceProfile) throw new UsageError('--source-profile and --credential-source are two ways of signing in; give one');
    identity = { kind: 'developer-credential-source', credentialSource: opts.credentialSource };
  } else identity = { kind: 'developer', sourceProfile: opts.sourceProfile ?? 'default' };
  // AssumeRole's RoleSessionName: "[\w+=,.@-]*", 2 to 64 characters (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
  if (opts.sessionName !== undefined && !/^[\w+=,.@-]{2,64}$/.test(opts.sessionName)) {
    throw new UsageError(`--session-name '${opts.sessionName}' is not a role session name: 2 to 64 of letters, digits and +=,.@_- (e.g. your user name)`);
  }
  const options = { sessionName: opts.sessionName, role: opts.for === 'maintainer' ? ('maintainer' as const) : ('developer' as const) };
  const generated = generateProfiles(org, identity, options);
  const block = profileBlock(org, { ...options, ci: identity.kind === 'ci' });
  const mismatch = ssoSignInMismatch(org, identity, options);
  if (mismatch) process.stderr.write(`xstack: warning: ${mismatch}\n`);
  if (identity.kind === 'developer' && usesFipsCodeCommit(org.partition)) {
    const config = opts.write ?? (process.env.AWS_CONFIG_FILE || join(homedir(), '.aws', 'config'));
    if (signsInWithSso(config, identity.sourceProfile)) {
      process.stderr.write(
        `xstack: warning: the source profile ${identity.sourceProfile} in ${config} signs in with IAM Identity Center, whose sign-in the FIPS endpoints these profiles select cannot reach (portal.sso-fips and oidc-fips hosts do not exist): use --sso-session, --sso-account-id and --sso-role instead (README, "Developer and CI access")\n`,
      );
    }
  }
  if (opts.write) {
    // Checked before the file is read for its base section: a folder given for the file is said so, not a read error.
    makeDefaultConfigFolder(opts.write);
    const problem = configFileProblem(opts.write);
    if (problem) throw new OutputError(problem);
    const missing = missingBaseSection(opts.write, identity);
    const result = writeProfiles(opts.write, block, generated.profiles, org.prefix);
    if (missing) {
      const fix =
        identity.kind === 'developer-sso'
          ? `add it (aws configure sso-session), then aws sso login --sso-session ${identity.ssoSession}`
          : 'add it, or give --source-profile the profile that holds your credentials (credentials only in the environment are never a source profile\'s: give --credential-source Environment)';
      process.stderr.write(`xstack: warning: ${opts.write} has no ${missing}, which the profiles sign in through: ${fix}\n`);
    }
    out(result.changed ? `${opts.write}: wrote ${generated.profiles.length} profile${generated.profiles.length === 1 ? '' : 's'}${result.backup ? ` (${backupNote(result.backup)})` : ''}\n` : `${opts.write}: already up to date\n`);
    out(renderGitEnvironment(generated, ''));
    out(`clone URLs (git-remote-codecommit):\n${generated.cloneUrls.map((c) => `  git clone ${c.url}\n`).join('')}`);
  } else {
    // Config text only, so that `>> ~/.aws/config` keeps the file valid: the clone URLs are comments in it.
    out(renderProfileConfig(block, generated));
  }
  return EXIT.ok;
}

/** A config file's lines as its section headers read, the blanks between their words as one space (`[profile  x]` is `[profile x]`); none for no file. */
const configLines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split(/\r?\n/).map((line) => line.trim().replace(/\s+/g, ' ')) : []);

/**
 * Whether a config file's profile signs in with IAM Identity Center (an `sso_` setting in its section): in GovCloud
 * its sign-in would go to FIPS hosts that do not exist once the profiles built on it select FIPS endpoints
 * (aws/aws-cli#9026; review s45-profiles P5). The section found as missingBaseSection finds it.
 */
function signsInWithSso(file: string, profile: string): boolean {
  if (existsSync(file) && statSync(file).isDirectory()) return false;
  const headers = profile === 'default' ? ['[default]', '[profile default]'] : [`[profile ${profile}]`];
  let inSection = false;
  for (const line of configLines(file)) {
    if (line.startsWith('[')) inSection = headers.includes(line);
    else if (inSection && /^sso_\w+ ?=/.test(line)) return true;
  }
  return false;
}

/**
 * The section a developer's profiles start from, when the config file being written lacks it: `[sso-session S]` (its
 * start URL and Region, https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-sso.html) or the source profile.
 */
function missingBaseSection(file: string, identity: ProfileIdentity): string | undefined {
  if (identity.kind === 'ci') return undefined;
  const config = configLines(file);
  if (identity.kind === 'developer-sso') return config.includes(`[sso-session ${identity.ssoSession}]`) ? undefined : `[sso-session ${identity.ssoSession}] section`;
  if (identity.kind === 'developer-credential-source') return undefined;
  // A source profile is read from the files alone, never the environment's credentials, the default one too (review
  // s45-profiles P1: botocore resolves it with the environment left out). A profile may also be only in the credentials
  // file (`[name]`, its keys): the SDKs' AWS_SHARED_CREDENTIALS_FILE, else the one beside the config
  // (https://docs.aws.amazon.com/sdkref/latest/guide/file-location.html). The config names the default profile `[default]`.
  const credentials = process.env.AWS_SHARED_CREDENTIALS_FILE || join(dirname(file), 'credentials');
  const { sourceProfile } = identity;
  const inConfig = config.includes(`[profile ${sourceProfile}]`) || (sourceProfile === 'default' && config.includes('[default]'));
  return configLines(credentials).includes(`[${sourceProfile}]`) || inConfig ? undefined : `[${sourceProfile === 'default' ? 'default' : `profile ${sourceProfile}`}] section (nor ${credentials} a [${sourceProfile}] one)`;
}

interface AwsCommandOptions {
  profile?: string;
  region?: string;
  endpoint?: string;
  outputReaderRole?: string;
  local?: boolean;
  json?: boolean;
  detailedExitcode?: boolean;
  yes?: boolean;
  deleteRetained?: boolean;
  keyDeletionDays?: string;
  releaseRepositories?: boolean;
  retainFailedStacks?: boolean;
  manifest?: string;
  requireApproval?: 'never' | 'any-change';
  frozenLayout?: boolean;
  dryRun?: boolean;
  accessRole?: string;
  replaceExecutionTrust?: boolean;
  replaceAdministrationTrust?: boolean;
  allowDeleteRetained?: boolean;
  maxWait?: string;
}

/** --region, --endpoint and AWS_ENDPOINT_URL, checked before any AWS client is built (the SDK's errors for them name neither). */
const ROLE_NAME_WITH_PATH = /^([\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;

/** The options' problems that need no org file: checked before it is read and compiled (review s59-cli m3). */
function checkAwsOptions(opts: AwsCommandOptions): void {
  // --local brings its own endpoint and credentials: a given --endpoint or --profile would be ignored without a word
  // (review s39-readme n5).
  const overridden = opts.local ? (['endpoint', 'profile'] as const).filter((o) => opts[o] !== undefined) : [];
  if (overridden.length > 0) throw new UsageError(`--local runs against a local AWS with its own endpoint and credentials, so ${overridden.map((o) => `--${o}`).join(' and ')} would be ignored; give --local, or ${overridden.map((o) => `--${o}`).join(' and ')}`);
  const wrongEndpoint = opts.endpoint === undefined ? undefined : endpointProblem(opts.endpoint);
  if (wrongEndpoint) throw new UsageError(`--endpoint ${wrongEndpoint}`);
  // The SDK reads AWS_ENDPOINT_URL itself when no endpoint is given.
  const fromEnvironment = opts.endpoint === undefined && !opts.local ? process.env.AWS_ENDPOINT_URL : undefined;
  const wrongEnvironment = fromEnvironment ? endpointProblem(fromEnvironment) : undefined;
  if (wrongEnvironment) throw new XstackError('ENDPOINT_INVALID', `AWS_ENDPOINT_URL ${wrongEnvironment}, or unset it to reach AWS`);
  // A role name IAM takes, with its path if any: "alphanumeric, including the following common characters: plus (+),
  // equal (=), comma (,), period (.), at (@), underscore (_), and hyphen (-)", 64 at most
  // (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html); a wrong one would reach AWS as role/<it>.
  for (const [name, value] of [['--output-reader-role', opts.outputReaderRole], ['--access-role', opts.accessRole]] as const) {
    if (value !== undefined && !ROLE_NAME_WITH_PATH.test(value)) throw new UsageError(`${name} ${value}: not a role name; expected the name of a role in the target accounts (1 to 64 letters, digits and + = , . @ _ -), after its path if it has one (path/name)`);
  }
  if (opts.maxWait !== undefined && !(/^\d+$/.test(opts.maxWait) && Number(opts.maxWait) >= 1)) {
    throw new UsageError(`--max-wait ${opts.maxWait}: expected a whole number of minutes, 1 or more (or leave it out to wait until each operation ends)`);
  }
}

async function awsCommand(command: AwsCommandName, file: string, opts: AwsCommandOptions): Promise<number> {
  checkAwsOptions(opts);
  const compiled = compileOrg(loadOrgFile(file));
  const { partition, region } = compiled.org;
  const wrongRegion = opts.region === undefined ? undefined : regionProblem(opts.region, partition);
  if (wrongRegion) throw new UsageError(`--region ${wrongRegion}; expected a region of the org's partition ${partition}, such as its own, ${region}`);
  // The org's notes (a repository leaving or renamed, a new bucket generation) compare it with the layout file's
  // record, which deploy rewrites before its first operation: said here, on stderr as compile says them, before that.
  if (command === 'plan' || command === 'deploy') for (const note of compiled.notes) process.stderr.write(`note: ${note}\n`);
  // The deployer and the AWS SDK load only for the commands that talk to AWS.
  const deploy = await import('./deploy/command.js');
  const flags = new Set<string>();
  const options = new Map<string, string>();
  const flag = (on: boolean | undefined, name: string) => on && flags.add(name);
  const option = (value: string | undefined, name: string) => value !== undefined && options.set(name, value);
  flag(opts.local, '--local');
  flag(opts.json, '--json');
  flag(opts.detailedExitcode, '--detailed-exitcode');
  flag(opts.yes || opts.requireApproval === 'never', '--yes');
  flag(opts.frozenLayout, '--frozen-layout');
  flag(opts.deleteRetained, '--delete-retained');
  flag(opts.releaseRepositories, '--release-repositories');
  flag(opts.retainFailedStacks, '--retain-failed-stacks');
  flag(opts.dryRun, '--dry-run');
  flag(opts.replaceExecutionTrust, '--replace-execution-trust');
  flag(opts.replaceAdministrationTrust, '--replace-administration-trust');
  flag(opts.allowDeleteRetained, '--allow-delete-retained');
  option(opts.profile, '--profile');
  option(opts.region, '--region');
  option(opts.endpoint, '--endpoint');
  option(opts.outputReaderRole, '--output-reader-role');
  option(opts.manifest, '--manifest');
  option(opts.accessRole, '--access-role');
  option(opts.maxWait, '--max-wait');
  if (opts.keyDeletionDays !== undefined) {
    // "If you include a value, it must be between 7 and 30, inclusive" (https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html).
    if (!/^\d+$/.test(opts.keyDeletionDays) || Number(opts.keyDeletionDays) < 7 || Number(opts.keyDeletionDays) > 30) throw new UsageError(`--key-deletion-days ${opts.keyDeletionDays}: expected a whole number of days from 7 to 30, KMS's waiting period`);
    if (!opts.deleteRetained) throw new UsageError('--key-deletion-days takes effect with --delete-retained only, which schedules the keys; add it, or leave --key-deletion-days out');
    options.set('--key-deletion-days', opts.keyDeletionDays);
  }
  return deploy.awsCommand(command, compiled, flags, options);
}

// ---- commands: one function each ----------------------------------------------------------

/** Runs an action and records its exit code; errors go to `main`'s handler. */
type Act = <A extends unknown[]>(fn: (...args: A) => number | Promise<number>) => (...args: A) => Promise<void>;

const ORG_FILE = 'ORG_FILE';

function registerCompile(program: Command, act: Act): void {
  program
    .command('compile')
    .summary('compile organization files to CloudFormation templates')
    .description(
      'Compiles each organization file (default: every parameters/*.yaml and *.yml) to DIR/<file stem>/: templates, ' +
        'values/<stage>.json for each template that chooses values by account, manifest.json and the audit bundle. Each DIR/<org>/ is replaced as a ' +
        "whole, or left as it was if anything fails; other orgs' folders and other files in DIR are never " +
        `touched. A folder xstack did not write (no .xstack-output marker) is refused, and so, naming them, are files in DIR/<org>/ that xstack did not write or ` +
        `that changed since (its manifest.json's SHA-256), and a DIR/<org>/ compiled from another org file of the same name. Beside each org file, <stem>.layout.json ` +
        'records which part (StackSet) of each family holds each unit; compile writes it when its placement differs from the file (a unit placed or gone): commit it with the org file. ' +
        'Two org files of one stem in one folder (example.yaml, example.yml) would share it and DIR/<stem>/, and are refused.',
    )
    .argument(`[${ORG_FILE}...]`, 'organization files (default: parameters/*.yaml and *.yml)')
    .option('--out <DIR>', 'output folder', 'dist')
    .option('--revision', "record the source's git revision in the manifest and report (not in committed dist/: it would change with every commit)")
    .option('--frozen-layout', "refuse, writing nothing, when an org's layout file does not hold this compile (CI), instead of writing it")
    .action(act((files: string[], opts: { out: string; revision?: boolean; frozenLayout?: boolean }) => compileCommand(files, opts)));
}

function registerAudit(program: Command, act: Act): void {
  program
    .command('audit')
    .summary("write the auditor's bundle (report.html, report.md, rollout.svg, audit.json)")
    .description(
      "Writes the auditor's bundle to audit/<org>/, a folder of its own outside dist/<org>/ (the compile's manifest.json there hashes every file of dist/<org>/), " +
        "recording the source's git revision when run in a git work tree. --since PREVIOUS " +
        '(a previous dist/<org>/ or its manifest.json, or the audit/ bundle or its audit.json) adds "Changes since": resources added, removed or replaced, ' +
        'grants and trust entries added or removed, paths newly allowed or refused.',
    )
    .argument(ORG_FILE, 'organization file')
    .option('--out <DIR>', 'output folder, outside the compile\'s dist/<org>/ (default: audit/<org>)')
    .option('--since <PREVIOUS>', 'a previous dist/<org>/ folder or its manifest.json, or its audit/ folder or audit.json, to compare with')
    .action(act((file: string, opts: { out?: string; since?: string }) => auditCommand(file, opts)));
}

function registerExplain(program: Command, act: Act): void {
  program
    .command('explain')
    .summary('who may do what, from the compiled policies, offline')
    .description(
      "Answers from the compiled policies with the access proof's own evaluator: every request matching " +
        '--principal, --action and --resource (any may be left out; * and ? allowed; a bare role name is that role in any account), ' +
        'allowed, refused or undecided (a policy outside the org file decides), with the statements on both sides.',
    )
    .argument(ORG_FILE, 'organization file')
    .option('--principal <P>', 'a role ARN, a role name, or a pattern')
    .option('--action <A>', 'an IAM action or pattern, e.g. kms:Decrypt, codecommit:*')
    .option('--resource <R>', 'a resource ARN or pattern')
    .option('--context <K=V;...>', 'request context, e.g. codecommit:References=refs/heads/main; a key given again adds a value (K=a;K=b), a value is taken whole')
    .option('--json', 'answers as JSON')
    .action(act((file: string, opts: ExplainOptions) => explainCommand(file, opts)));
}

function registerProfiles(program: Command, act: Act): void {
  program
    .command('profiles')
    .summary('AWS CLI profiles and git clone URLs for the developer or CI roles')
    .description(
      'Prints an AWS config fragment (valid to append to ~/.aws/config) with one profile per source ' +
        "account for the developer or CI role, and each repository's codecommit::REGION://PROFILE@REPO " +
        'clone URL as a comment. --write merges the profiles into a config file instead: only xstack\'s ' +
        'marked block is replaced, the file as it was before xstack first wrote it is kept (FILE.xstack-backup, or the next name free: FILE.xstack-backup-2, …), other profiles are never overwritten.',
    )
    .argument(ORG_FILE, 'organization file')
    .addOption(new Option('--for <WHO>', 'whose profiles (maintainer: the role that writes the protected branches)').choices(['developer', 'maintainer', 'ci']).makeOptionMandatory())
    .option('--source-profile <NAME>', "developer, maintainer: profile holding the base credentials (default 'default')")
    .addOption(new Option('--credential-source <WHERE>', "developer, maintainer: base credentials from the environment or the host instead of a profile (credential_source)").choices([...CREDENTIAL_SOURCES]))
    .option('--sso-session <S>', 'developer, maintainer: IAM Identity Center session name (with --sso-account-id, --sso-role)')
    .option('--sso-account-id <ID>', 'developer, maintainer: account of the IAM Identity Center role')
    .option('--sso-role <NAME>', "developer, maintainer: the IAM Identity Center permission set's name, e.g. Developer (sso_role_name; not the AWSReservedSSO_… role)")
    .option('--session-name <NAME>', "developer, maintainer: role session name, e.g. your user name: CloudTrail records the source account's pushes under it")
    .option('--write <FILE>', 'merge into this AWS config file instead of printing')
    .action(act((file: string, opts: ProfilesOptions) => profilesCommand(file, opts)));
}

/**
 * The options every AWS command shares; `readsRetained`: the command looks for retained buckets and repositories in
 * the target accounts (plan, deploy, destroy), so it takes the role it reads them with. The others refuse the option.
 */
function withAwsOptions(command: Command, { readsRetained = true } = {}): Command {
  command
    .option('--profile <NAME>', 'AWS profile')
    .option('--region <REGION>', "where the StackSets live (default: the org's region)")
    .option('--endpoint <URL>', 'AWS endpoint (default: AWS_ENDPOINT_URL, else AWS)');
  if (readsRetained) command.option('--output-reader-role <NAME>', 'role assumed in a target account to look for retained buckets and repositories and, with destroy --delete-retained, delete them (default: <prefix>-xstack-reader to read, which SELF_MANAGED bootstrap makes, trusting the identities that ran bootstrap, and SERVICE_MANAGED the setup template dist/<org>/setup/reader-role.yaml; to delete, SELF_MANAGED the StackSet execution role, SERVICE_MANAGED none: name one)');
  return command
    .option('--local', "run against the local AWS: the one 'xstack local' serves while it runs, else moto's server started (empty) on 127.0.0.1 for this run and stopped after; bootstraps the org there first")
    .option('--json', 'machine-readable result on stdout');
}

/**
 * The last resort for an instance whose delete failed (INOPERABLE): without the flag its removal fails, saying why,
 * and the next run deletes it again (deployer.ts removeFrom).
 */
const RETAIN_FAILED_STACKS_HELP =
  'last resort: remove an instance whose delete failed (INOPERABLE) from its StackSet keeping its stack, which stays in the account, ' +
  'resources and names included, for you to delete by hand (default: the removal fails, saying why, and the next run deletes it again)';

/** A bound on each wait for one StackSet operation (deployer.ts DeployOptions.maxWaitMs); none by default. */
const MAX_WAIT_HELP =
  "stop waiting for a StackSet operation (this run's, drift detection's, or another's it waits behind) that has not ended after this many minutes, and fail, naming it; " +
  'the operation goes on, and the next run waits for it (default: wait until each ends, however long the operation preferences make it)';

function registerAws(program: Command, act: Act): void {
  withAwsOptions(program.command('plan'))
    .summary('what deploy would do, per StackSet; changes nothing')
    .argument(ORG_FILE, 'organization file')
    .option('--detailed-exitcode', 'exit 0: no changes, 2: changes or a stage deploy would fail (✗), 1: error')
    .option('--retain-failed-stacks', `plan as deploy with this flag would run: ${RETAIN_FAILED_STACKS_HELP}`)
    .action(act((file: string, opts: AwsCommandOptions) => awsCommand('plan', file, opts)));
  withAwsOptions(program.command('deploy'))
    .summary('roll the org out with StackSets, wave by wave')
    .description(
      'Rolls the org out with StackSets, wave by wave, one operation of each kind per StackSet. Running it again finishes an interrupted rollout. ' +
        'Shows the plan and who and where it deploys as, and asks before changing anything; without a terminal (CI), changes need --yes or --require-approval never.',
    )
    .argument(ORG_FILE, 'organization file')
    .option('--yes', 'do not ask')
    .addOption(new Option('--require-approval <LEVEL>', "as cdk: 'never' deploys without asking").choices(['never', 'any-change']).default('any-change'))
    .option('--frozen-layout', "refuse, before any operation, when the org's layout file does not hold this compile (CI), instead of writing it")
    .option('--retain-failed-stacks', RETAIN_FAILED_STACKS_HELP)
    .option('--max-wait <MINUTES>', MAX_WAIT_HELP)
    .action(act((file: string, opts: AwsCommandOptions) => awsCommand('deploy', file, opts)));
  withAwsOptions(program.command('destroy'))
    .summary('remove stack instances and StackSets in reverse order')
    .description(
      "Removes stack instances and StackSets in reverse order. Artifact and access-log buckets, keys and the CI network's flow-log group are " +
        'retained unless --delete-retained: buckets emptied and deleted, keys scheduled for deletion (7 days, or --key-deletion-days), the log group deleted; ' +
        'a deploy after a destroy that kept them needs the next bucketGeneration in the org file. ' +
        'Repositories always stay, and so does the StackSet holding them (the next deploy finds them in place) ' +
        'unless --release-repositories. Asks unless --yes.',
    )
    .argument(ORG_FILE, 'organization file')
    .option('--yes', 'do not ask')
    .option('--delete-retained', 'also delete artifact and access-log buckets and schedule key deletion')
    .option('--key-deletion-days <DAYS>', "with --delete-retained, the keys' waiting period before KMS deletes them, 7 to 30 (default 7; an SCP may require more, as AWS's sample requiring 30 does)")
    .option('--release-repositories', "also remove the repositories' StackSet (the repositories stay, outside CloudFormation)")
    .option('--retain-failed-stacks', RETAIN_FAILED_STACKS_HELP)
    .option('--max-wait <MINUTES>', MAX_WAIT_HELP)
    .action(act((file: string, opts: AwsCommandOptions) => awsCommand('destroy', file, opts)));
  withAwsOptions(program.command('verify'), { readsRetained: false })
    .summary('compare what is deployed with the compiled manifest')
    .description(
      "Compares every deployed StackSet's template with the SHA-256 of the org file's compile as it is now (or of --manifest FILE), and its " +
        'instances with the accounts the compile targets, and runs StackSet drift detection where the endpoint supports it. ' +
        "Exit 0: as compiled; 2: differences (a drifted instance among them); 1: error, or a StackSet whose drift could not be told.",
    )
    .argument(ORG_FILE, 'organization file')
    .option('--manifest <FILE>', "manifest to compare with (default: the org file's compile as it is now)")
    .option('--max-wait <MINUTES>', MAX_WAIT_HELP)
    .action(act((file: string, opts: AwsCommandOptions) => awsCommand('verify', file, opts)));
  withAwsOptions(program.command('bootstrap'), { readsRetained: false })
    .summary('create what a rollout needs first: StackSet roles, and the template bucket when a template needs it')
    .description(
      'SELF_MANAGED: the StackSet administration role in this account and, in every target account (reached through --access-role), ' +
        'the execution role, whose policy is derived from the compiled templates (never AdministratorAccess) and whose trust names the ' +
        'administration role alone (and the caller with --allow-delete-retained), and the reader role <prefix>-xstack-reader, which only reads ' +
        'and whose trust adds the caller: plan, deploy and destroy read each account with it. An execution role that already exists with policies xstack did not give it (AdministratorAccess from AWS\'s sample ' +
        'template, inline policies), or with a trust that lets in others, is reported missing: xstack detaches nothing it did not attach, ' +
        'and rewrites such a trust only with --replace-execution-trust. An administration role whose trust lets in more than CloudFormation ' +
        'stops bootstrap before any write, unless --replace-administration-trust. ' +
        'SERVICE_MANAGED: read-only checks of trusted access, the delegated administrator and the management account, and, with iamQuotas, ' +
        "each target account's IAM quotas, read through the setup template's reader role (or --output-reader-role). Before a deploy " +
        'records the administrator account, bootstrap names the account it runs in as the one the first deploy makes it. Either ' +
        'model: the template bucket in this account, when a template is over 51,200 bytes. Exit 1 if a check fails.',
    )
    .argument(ORG_FILE, 'organization file')
    .option('--dry-run', 'report what would change; change nothing')
    .option('--access-role <NAME>', 'role assumed in each target account to create the execution role (AWSControlTowerExecution in an AWS Control Tower landing zone; <prefix>-xstack-access, which dist/<org>/setup/bootstrap-access.yaml makes, from an administrator account other than the management account)', 'OrganizationAccountAccessRole')
    .option('--replace-execution-trust', "rewrite an existing execution role's trust as xstack's even where that removes principals it lets in now (the output names them)")
    .option('--replace-administration-trust', "rewrite an existing administration role's trust as CloudFormation's alone even where that removes principals it lets in now (the output names them)")
    .option('--allow-delete-retained', "also trust the caller on the execution role, with which destroy --delete-retained deletes retained buckets, keys and log groups (the execution role can write IAM: whoever it trusts is administrator of the account in effect; the next bootstrap without this flag removes the caller again)")
    .option('--output-reader-role <NAME>', "SERVICE_MANAGED with iamQuotas: role assumed in each target account to read its IAM quotas (iam:GetAccountSummary) (default: <prefix>-xstack-reader, which the setup template dist/<org>/setup/reader-role.yaml makes); SELF_MANAGED refuses it (bootstrap makes the reader)")
    .action(act((file: string, opts: AwsCommandOptions) => awsCommand('bootstrap', file, opts)));
}

function registerSchema(program: Command, act: Act): void {
  program
    .command('schema')
    .summary("print the org file's JSON Schema (for editors)")
    .description(
      "Prints the JSON Schema of the organization file, generated from the validator's own rules; with --out, writes it to FILE. " +
        "Editors with the YAML language server use it through a first line '# yaml-language-server: $schema=./org.schema.json', " +
        "a path from the org file's own folder (from orgs/my-org.yaml: ../parameters/org.schema.json). " +
        'make compile writes parameters/org.schema.json.',
    )
    .option('--out <FILE>', 'write to this file instead of stdout')
    .action(
      act((opts: { out?: string }) => {
        refuseUnusablePath('--out', opts.out);
        const text = orgJsonSchemaText();
        if (!opts.out) {
          out(text);
          return EXIT.ok;
        }
        const existing = existsSync(opts.out) && !statSync(opts.out).isDirectory() ? readFileSync(opts.out, 'utf8') : undefined;
        if (existing !== text) {
          const problem = fileTargetProblem(opts.out, '--out') ?? (existing === undefined ? undefined : notASchemaProblem(opts.out, existing, text));
          if (problem) throw new OutputError(problem);
          writeFileAtomic(opts.out, text, '--out');
        }
        return EXIT.ok;
      }),
    );
}

/**
 * `schema --out` replaces only a schema an earlier `schema --out` wrote and nobody changed since: any other file at
 * that path (an org file one tab-completion away, a user's JSON) is the user's, and is refused whole (review s30-cli
 * M1); so is a schema of ours that the user customised, which its stamp tells (review s38-cli m10).
 */
function notASchemaProblem(file: string, text: string, schema: string): string | undefined {
  const title = (JSON.parse(schema) as { title: string }).title;
  let found: unknown;
  try {
    found = (JSON.parse(text) as { title?: unknown } | null)?.title;
  } catch {
    found = undefined;
  }
  const leftAsItWas = 'it was left as it was: choose another path, or delete or move that file first';
  if (found !== title) return `--out ${file} exists and is not a schema xstack wrote (a JSON Schema titled "${title}"); ${leftAsItWas}`;
  const stamp = schemaStampOf(text);
  if (stamp === 'edited') return `--out ${file} is a schema xstack wrote, changed since (its $comment's SHA-256 no longer matches its text), so the changes may be yours; ${leftAsItWas}`;
  if (stamp === 'unstamped') return `--out ${file} is titled as xstack's schema but has no stamp (its $comment), so xstack cannot tell it from a copy you changed (an xstack before the stamp wrote none); ${leftAsItWas}`;
  return undefined;
}

/** Every command; a new one is a `(program, act) => void` added here. */
const COMMANDS: Array<(program: Command, act: Act) => void> = [registerCompile, registerAws, registerAudit, registerExplain, registerProfiles, registerSchema, registerLocal];

const EXIT_CODES_HELP = `
Exit codes:
  0   success
  1   error (invalid organization file, AWS error, refused output folder, …; verify: a StackSet's drift unknown)
  2   changes or a failing stage (plan --detailed-exitcode), differences or drift (verify)
  64  usage error (unknown command or option, missing argument)
  130 stopped by Ctrl-C (143: SIGTERM); output folders whole, and a deploy or destroy finished by running it again`;

function version(): string {
  const root = packageRoot();
  return root ? (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version : 'unknown';
}

function buildProgram(act: Act): Command {
  const program = new Command('xstack')
    .description('Compile a cross-account CodeCommit → CodePipeline organization to plain CloudFormation, and roll it out with StackSets.')
    .version(version(), '-V, --version')
    .addHelpText('after', `${EXIT_CODES_HELP}\n\nRun 'xstack help COMMAND' for a command's options.`)
    .showHelpAfterError("(run 'xstack help' or 'xstack COMMAND --help' for usage)")
    .exitOverride()
    // Set before the commands are added: they inherit it.
    .configureOutput({
      writeOut: out,
      writeErr: (text) => void process.stderr.write(text),
      outputError: (text, write) => write(text.replace(/^error: /, 'xstack: ')),
    });
  for (const register of COMMANDS) register(program, act);
  for (const command of program.commands) command.exitOverride().showHelpAfterError(`(run 'xstack ${command.name()} --help' for usage)`);
  return program;
}

/**
 * Stdout's (or stderr's) reader may go away (`xstack plan … | head`): further output is
 * dropped and the command finishes (a deploy is not cut short by a closed
 * pager); its exit code stays what it would have been.
 */
function surviveClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
    });
  }
}

/**
 * The AWS SDK warns on Node 20 that releases after January 2027 need Node 22
 * (8 lines on every AWS command). The README states the supported versions;
 * the SDK's own switch turns off exactly that one warning, and only when the
 * user has not set it (https://github.com/aws/aws-sdk-js-v3/issues/7983).
 */
function quietNodeVersionWarning(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  let context: RunContext = { command: '', options: {} };
  const act: Act =
    (fn) =>
    async (...args) => {
      const command = args[args.length - 1] as Command;
      context = { command: command.name(), options: command.opts() };
      refuseUnusableValues(command);
      code = await fn(...args);
    };
  const program = buildProgram(act);
  // `xstack help compil`: commander would print the overview; say which command is unknown, with its did-you-mean.
  const [first, second] = argv;
  if (first === 'help' && second !== undefined && !program.commands.some((c) => c.name() === second)) argv = [second];
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (error instanceof UsageError) {
      process.stderr.write(`xstack: ${error.message}\n(run 'xstack ${context.command} --help' for usage)\n`);
      return EXIT.usage;
    }
    const message = userMessage(error, context.options);
    if (message === undefined) throw error;
    process.stderr.write(`xstack: ${message}\n`);
    if (context.command === 'compile' && (raisedBeforeWriting.has(error as object) || error instanceof OrgFileError || error instanceof CompileError)) {
      const dir = String(context.options.out ?? 'dist');
      process.stderr.write(existsSync(dir) ? `${dir} was left as it was.\n` : 'Nothing was written.\n');
    }
    return EXIT.error;
  }
}

/**
 * V8 optimises a function (TurboFan, on a background thread) once it has run for an "interrupt budget" of bytecode,
 * and a command runs most of its functions too few times for that work to pay back. Four times V8's default budget
 * (67,584) leaves the briefly warm ones in the baseline tier and still optimises the hot loops of a large org: a compile
 * of 1,000 accounts takes a fifth less time and a quarter less CPU, 250 teams 15 % less time, and less memory, with
 * byte-identical output (bench/RESULTS.md, forty-fifth session; capping the tiers instead, --max-opt=1, cost the large
 * orgs wall time). Set before any command runs, for the CLI only (tests and library users keep V8's defaults). Node
 * warns that a flag changed after start may "simply do nothing", the worst a budget can come to:
 * https://nodejs.org/api/v8.html#v8setflagsfromstringflags
 */
const BRIEF_RUN_V8_FLAGS = '--interrupt-budget=270336';

if (require.main === module) {
  setFlagsFromString(BRIEF_RUN_V8_FLAGS);
  surviveClosedPipe();
  quietNodeVersionWarning();
  main(process.argv.slice(2)).then(
    async (code) => {
      process.exitCode = code;
      await settleSignals();
    },
    (error) => {
      process.stderr.write(`xstack: internal error (please report it): ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = EXIT.error;
    },
  );
}
