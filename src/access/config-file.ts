/** Writes profiles into an AWS config file: checked first (configFileProblem), backup, atomic replace, no write when nothing changes. */
import { constants, copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, statSync, utimesSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { systemErrorReason } from '../errors';
import { BESIDE, fileTargetProblem, OutputError, roomBesideProblem, writeFileAtomic } from '../write';
import { holdsXstackBlock, mergeIntoConfig, ProfilesError, type Profile } from './profiles';

export interface WriteResult {
  changed: boolean;
  /** The file as it was before xstack first wrote it: made by this write (madeNow), or by an earlier one, at `made`. */
  backup?: { file: string; madeNow: boolean; made: Date; /** Made now under another name: the files that had the earlier names, left as they were. */ passed?: string[] };
}

/** One file, however named: the same path once links are followed (a file not there yet: its path, resolved). */
const sameFile = (a: string, b: string) => {
  const real = (f: string) => (existsSync(f) ? realpathSync(f) : resolve(f));
  return real(a) === real(b);
};

/**
 * The shared credentials file, where profiles cannot go: there a section's whole name is the profile's ("Do not use the
 * word profile when creating an entry in the credentials file",
 * https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-files.html), so `[profile x]` would be a profile named
 * `profile x` and every clone URL would name a profile that does not exist. The SDKs' AWS_SHARED_CREDENTIALS_FILE, else
 * ~/.aws/credentials (https://docs.aws.amazon.com/sdkref/latest/guide/file-location.html); or any file named
 * `credentials` that is not AWS_CONFIG_FILE.
 */
function credentialsFileProblem(file: string): string | undefined {
  const credentials = process.env.AWS_SHARED_CREDENTIALS_FILE || join(homedir(), '.aws', 'credentials');
  const config = process.env.AWS_CONFIG_FILE || join(homedir(), '.aws', 'config');
  const isCredentials = sameFile(file, credentials) || (basename(file) === 'credentials' && !sameFile(file, config));
  if (!isCredentials) return undefined;
  return `--write ${file} is the AWS credentials file, where '[profile x]' would be a profile named 'profile x' that no clone URL names; profiles go in the config file, e.g. --write ~/.aws/config`;
}

/** Why `--write FILE` cannot take the profiles: the credentials file, a folder, a missing or unwritable folder, a read-only file. */
export function configFileProblem(file: string): string | undefined {
  return credentialsFileProblem(file) ?? fileTargetProblem(file, '--write') ?? notAConfigFileProblem(file);
}

/**
 * An existing file that does not read as an AWS config file: each line a `[section]`, a `setting = value` (indented
 * under a setting for a nested one), a comment or blank (https://docs.aws.amazon.com/sdkref/latest/guide/file-format.html).
 * The org file, its layout file or a compiled template given for --write had the profiles appended and would no longer
 * parse (review s50-input M2): refused, naming the first line that is not of that form.
 */
function notAConfigFileProblem(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, 'utf8').replace(/^\uFEFF/, '').split(/\r?\n/);
  const at = lines.findIndex((line) => !/^\s*([#;].*)?$/.test(line) && !/^\s*\[[^\]]+\]\s*([#;].*)?$/.test(line) && !/^\s*[^\s=[][^=]*=/.test(line));
  if (at < 0) return undefined;
  const shown = lines[at].length > 60 ? `${lines[at].slice(0, 60)}…` : lines[at];
  return `--write ${file}: it does not read as an AWS config file (line ${at + 1}, '${shown}', is neither a [section] nor a 'setting = value'), so nothing was written; give the AWS config file the profiles go into, e.g. ~/.aws/config`;
}

/**
 * ~/.aws, where the AWS CLI and SDKs look for the config file (https://docs.aws.amazon.com/sdkref/latest/guide/file-location.html),
 * is made when missing, as `aws configure` would (only the owner may read it, as the file): a fresh machine following the
 * README's `--write ~/.aws/config` was refused (review s46-cli N5). Any other missing folder stays a refusal: a typo'd
 * path is not created.
 */
export function makeDefaultConfigFolder(file: string): void {
  const folder = dirname(resolve(file));
  // The home folder however it is reached (a link to it, or $HOME a link): compared once links are followed (review s46-diff m3).
  const real = (path: string) => (existsSync(path) ? realpathSync(path) : resolve(path));
  if (basename(folder) !== '.aws' || existsSync(folder) || real(dirname(folder)) !== real(homedir())) return;
  // Not for the credentials file, which --write refuses (credentialsFileProblem): nothing is made for a refused run.
  if (credentialsFileProblem(file)) return;
  mkdirSync(folder, { mode: 0o700 });
}

/**
 * The backup is the file as it was before xstack first wrote to it, kept: a later write (other options, another org)
 * would otherwise replace it with a file xstack had already changed. A config that holds no xstack block has not been
 * written by xstack (or no longer holds what it wrote), so a `.xstack-backup` beside it may be anything, a file of the
 * user's own: the backup is then made afresh, under a name no file has yet (review s38-cli m11).
 */
export function writeProfiles(file: string, orgName: string, profiles: readonly Profile[], prefix: string): WriteResult {
  makeDefaultConfigFolder(file);
  const problem = configFileProblem(file);
  if (problem) throw new OutputError(problem);
  // Before the backup is made: a refusal leaves nothing beside the file (review s38-delta D7).
  const tooLong = roomBesideProblem(file, BESIDE.file);
  if (tooLong) throw new OutputError(`could not write ${file}: ${tooLong}; it was left as it was`);
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : '';
  let merged: string;
  try {
    merged = mergeIntoConfig(existing, orgName, profiles, prefix);
  } catch (error) {
    if (error instanceof ProfilesError) throw new ProfilesError(`${file}: ${error.message}`);
    throw error;
  }
  if (merged === existing) return { changed: false };
  let backup: WriteResult['backup'];
  if (existsSync(file)) {
    // A config reset to the same text again and again (a dotfiles tool, a CI image) has its one copy already: reused,
    // not one more each run (review s38-helpers-diff H4).
    const kept = holdsXstackBlock(existing) ? backupsOf(file).at(-1) : backupsOf(file).find((b) => sameBytes(b, file));
    backup = kept ? { file: kept, madeNow: false, made: statSync(kept).mtime } : freshBackup(file);
  }
  writeFileAtomic(file, merged, '--write', existsSync(file) ? statSync(file).mode : 0o600);
  return { changed: true, backup };
}

/** Whether `backup` is a regular file of exactly `file`'s bytes (text read as UTF-8 would take two Latin-1 files as one; review s38-delta D1); a file that cannot be read is not. */
function sameBytes(backup: string, file: string): boolean {
  try {
    return statSync(backup).isFile() && readFileSync(backup).equals(readFileSync(file));
  } catch {
    return false;
  }
}

/** `FILE.xstack-backup`, then `FILE.xstack-backup-2`, `-3`, …: the names a backup of FILE takes, in the order they are made. */
const backupName = (file: string, n: number) => `${file}.xstack-backup${n === 1 ? '' : `-${n}`}`;

/** The backups of FILE there are, oldest name first: the last was made when xstack last found the file without its block. */
function backupsOf(file: string): string[] {
  const names: string[] = [];
  for (let n = 1; existsSync(backupName(file, n)); n++) names.push(backupName(file, n));
  return names;
}

/** A copy of FILE under the first backup name no file has, never over one (COPYFILE_EXCL): an earlier backup, or the user's file of that name, is left as it is. */
function freshBackup(file: string): NonNullable<WriteResult['backup']> {
  for (let n = 1; n <= 100; n++) {
    const copy = backupName(file, n);
    try {
      copyFileSync(file, copy, constants.COPYFILE_EXCL);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new OutputError(`could not back up ${file} to ${copy} (${systemErrorReason(error) ?? (error as Error).message}); ${file} was left as it was`);
    }
    // Its time is when xstack first wrote the config (the note says it): on macOS copyFileSync keeps the original's
    // modification time (libuv uses copyfile(3) with COPYFILE_ALL), so it is set here.
    const now = new Date();
    utimesSync(copy, now, now);
    return { file: copy, madeNow: true, made: now, ...(n > 1 ? { passed: Array.from({ length: n - 1 }, (_, i) => backupName(file, i + 1)) } : {}) };
  }
  throw new OutputError(`could not back up ${file}: ${backupName(file, 1)} to ${backupName(file, 100)} are all taken; move some away, then run again (${file} was left as it was)`);
}

/** What the summary says of the backup: this write's, or the one an earlier write made, which this one left as it was. */
export function backupNote(backup: NonNullable<WriteResult['backup']>): string {
  if (backup.madeNow) {
    const passed = backup.passed ?? [];
    const names = passed.length <= 3 ? passed.join(', ') : `${passed.slice(0, 3).join(', ')} and ${passed.length - 3} more`;
    return `the file as it was is kept as ${backup.file}${passed.length > 0 ? `; ${names}, there already, ${passed.length === 1 ? 'was' : 'were'} left as ${passed.length === 1 ? 'it was' : 'they were'}` : ''}`;
  }
  return `${backup.file} still holds the file as it was before xstack's write of ${backup.made.toISOString().slice(0, 10)}; this write did not change it`;
}
