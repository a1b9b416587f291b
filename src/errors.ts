import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { credentialsSection, sectionProfile } from './access/config-sections';

/** One problem in a file the user wrote, located as precisely as we can. */
export interface Problem {
  file: string;
  line?: number;
  column?: number;
  /** Dotted path of the field, e.g. `accounts.dev.id`. */
  field: string;
  message: string;
  /** What would have been accepted. */
  expected?: string;
}

export function formatProblem(p: Problem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}:${p.column ?? 1}`;
  const expected = p.expected ? `; expected ${p.expected}` : '';
  return `${where}: ${p.field}: ${p.message}${expected}`;
}

/** Base class: every error xstack raises on purpose has a stable code. */
/** The name an AWS SDK error (or any thrown value) carries, e.g. `NoSuchEntityException`; undefined when none. */
export const errorName = (error: unknown): string | undefined => (error as { name?: string } | undefined)?.name;

export class XstackError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The organization file is invalid; carries every problem found, not just the first. */
/** How many of an org file's problems its message shows: a generated file gone wrong may have hundreds of thousands (review s59-cli m5). */
const SHOWN_PROBLEMS = 200;

export class OrgFileError extends XstackError {
  constructor(
    readonly problems: readonly Problem[],
    /** Which file the problems are in: the organization file, or the layout file beside it (src/stages/layout.ts). */
    what = 'the organization file',
  ) {
    super(
      'ORG_FILE_INVALID',
      `${problems.length} problem${problems.length === 1 ? '' : 's'} in ${what}:\n` +
        problems
          .slice(0, SHOWN_PROBLEMS)
          .map((p) => `  ${formatProblem(p)}`)
          .concat(problems.length > SHOWN_PROBLEMS ? [`  … and ${problems.length - SHOWN_PROBLEMS} more (the first ${SHOWN_PROBLEMS} are shown; mend them and run again)`] : [])
          .join('\n'),
    );
  }
}

/** The org is valid but cannot be compiled into templates AWS would accept. */
export class CompileError extends XstackError {
  constructor(
    code: string,
    readonly details: readonly string[],
  ) {
    super(code, `${code}:\n${details.map((d) => `  ${d}`).join('\n')}`);
  }
}

/** A template module broke an IAM invariant at the call that built the statement. */
export class PolicyError extends XstackError {
  constructor(message: string) {
    super('POLICY_INVALID', message);
  }
}

/** Exit codes of the command line. 64 is EX_USAGE from sysexits.h: a usage error must never read as "changes" (2). */
export const EXIT = { ok: 0, error: 1, changes: 2, usage: 64 } as const;

const SYSTEM_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
  EEXIST: 'exists, and is not a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EBUSY: 'is busy (in use)',
  ENOSPC: 'no space left on the device',
  EROFS: 'is on a read-only file system',
  ENAMETOOLONG: 'a name in the path is too long for the file system',
  ELOOP: 'too many symbolic links in the path, perhaps links that point at each other',
  EXDEV: 'a rename the file system cannot make in place',
  EDQUOT: 'the disk quota is used up',
  EFBIG: 'a file would be larger than this system allows (ulimit -f)',
  EIO: 'an input/output error of the device',
  EMFILE: 'too many open files (ulimit -n)',
  ENFILE: 'too many open files on this system',
};

/**
 * What a failed file-system call means, in words (`permission denied`), or undefined when it is not one. A code not
 * in the list above, of a system call (ETXTBSY, EREMOTEIO, …), is the machine's refusal all the same, not xstack's
 * fault: node's own words for it (`EIO: i/o error, write` → `i/o error (EIO)`), so that the command says it in one line
 * as for the listed ones, not as an internal error (review s46-cli m2).
 */
export const systemErrorReason = (error: unknown): string | undefined => {
  const e = error as NodeJS.ErrnoException | undefined;
  const code = e?.code;
  if (!code) return undefined;
  if (SYSTEM_ERRORS[code]) return SYSTEM_ERRORS[code];
  if (e.syscall === undefined || !/^E[A-Z0-9]+$/.test(code)) return undefined;
  const words = new RegExp(`^${code}: ([^,]+)`).exec(e.message)?.[1];
  return `${words ?? 'the system refused it'} (${code})`;
};

/** The shared config and credentials files, where the AWS CLI and SDKs look for them. */
function awsConfigFiles(): [config: string, credentials: string] {
  const home = homedir();
  return [process.env.AWS_CONFIG_FILE ?? join(home, '.aws', 'config'), process.env.AWS_SHARED_CREDENTIALS_FILE ?? join(home, '.aws', 'credentials')];
}

/** Whether either file defines the profile, each read as the AWS CLI reads it (access/config-sections.ts): a header's comment or quotes do not hide it. */
function profileDefined(name: string, [config, credentials]: readonly [string, string]): boolean {
  const defines = (file: string, section: (line: string) => string | undefined) => existsSync(file) && readFileSync(file, 'utf8').split('\n').some((line) => section(line) === name);
  return defines(config, sectionProfile) || defines(credentials, credentialsSection);
}

/** Network failures that mean the endpoint cannot be reached at all. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

const codeOf = (error: unknown): string | undefined => {
  const e = error as { code?: unknown; cause?: unknown; errors?: unknown[] };
  if (typeof e?.code === 'string') return e.code;
  // An AggregateError (every address of a host refused) or a wrapped cause.
  if (Array.isArray(e?.errors)) return e.errors.map(codeOf).find(Boolean);
  return e?.cause ? codeOf(e.cause) : undefined;
};

/**
 * One line for an error the user can act on, or undefined for a bug. `options`
 * are the command's options (profile, endpoint) so the line can name them.
 */
export function userMessage(error: unknown, options: { profile?: unknown; endpoint?: unknown; local?: unknown }): string | undefined {
  if (error instanceof XstackError) return error.message;
  if (!(error instanceof Error)) return undefined;
  const e = error as NodeJS.ErrnoException;
  const code = codeOf(error);
  const systemReason = e.syscall && e.path ? systemErrorReason(e) : undefined;
  if (systemReason) return `${e.path}: ${systemReason}`;
  const profile = typeof options.profile === 'string' ? options.profile : (process.env.AWS_PROFILE ?? undefined);
  if (e.name === 'CredentialsProviderError' || /could not load credentials|Could not resolve credentials/i.test(e.message)) {
    if (profile) {
      const files = awsConfigFiles();
      return profileDefined(profile, files)
        ? `AWS profile '${profile}' gave no credentials (${e.message.split('\n')[0]}); if it signs in with IAM Identity Center, run 'aws sso login --profile ${profile}'`
        : `there is no AWS profile '${profile}' in ${files.join(' or ')}; 'aws configure list-profiles' lists the profiles there`;
    }
    return `no AWS credentials found (environment, ~/.aws/config, SSO or instance role); pass --profile NAME, set AWS_PROFILE, or run 'aws configure' / 'aws sso login'`;
  }
  if (code && UNREACHABLE.has(code)) {
    const endpoint = typeof options.endpoint === 'string' ? options.endpoint : (process.env.AWS_ENDPOINT_URL ?? 'the AWS endpoint');
    return `cannot reach ${endpoint} (${code}); check --endpoint / AWS_ENDPOINT_URL, the network and any proxy`;
  }
  if (e.name === 'TimeoutError') return `no answer from ${typeof options.endpoint === 'string' ? options.endpoint : 'AWS'} in time (${e.message}); check the endpoint and the network`;
  // Any other error AWS answered with: its name and message say what was refused.
  const metadata = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
  if (metadata?.httpStatusCode) return `AWS refused a call: ${e.name}: ${e.message.split('\n')[0]}`;
  return undefined;
}
