/** Writes profiles into an AWS config file: checked first (configFileProblem), backup, atomic replace, no write when nothing changes. */
import { constants, copyFileSync, existsSync, readFileSync, realpathSync, statSync, utimesSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { systemErrorReason } from '../errors';
import { fileTargetProblem, OutputError, writeFileAtomic } from '../write';
import { mergeIntoConfig, type Profile } from './profiles';

export interface WriteResult {
  changed: boolean;
  /** The file as it was before xstack first wrote it: made by this write (madeNow), or by an earlier one, at `made`. */
  backup?: { file: string; madeNow: boolean; made: Date };
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
  return credentialsFileProblem(file) ?? fileTargetProblem(file, '--write');
}

/**
 * The backup is the file as it was before xstack first wrote to it, kept: a later write (other options, another org)
 * would otherwise replace it with a file xstack had already changed.
 */
export function writeProfiles(file: string, orgName: string, profiles: readonly Profile[]): WriteResult {
  const problem = configFileProblem(file);
  if (problem) throw new OutputError(problem);
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const merged = mergeIntoConfig(existing, orgName, profiles);
  if (merged === existing) return { changed: false };
  let backup: WriteResult['backup'];
  if (existsSync(file)) {
    const copy = `${file}.xstack-backup`;
    const madeNow = !existsSync(copy);
    if (madeNow) {
      try {
        copyFileSync(file, copy, constants.COPYFILE_EXCL);
        // Its time is when xstack first wrote the config (the note says it): on macOS copyFileSync keeps the original's
        // modification time (libuv uses copyfile(3) with COPYFILE_ALL), so it is set here.
        const now = new Date();
        utimesSync(copy, now, now);
      } catch (error) {
        throw new OutputError(`could not back up ${file} to ${copy} (${systemErrorReason(error) ?? (error as Error).message}); ${file} was left as it was`);
      }
    }
    backup = { file: copy, madeNow, made: statSync(copy).mtime };
  }
  writeFileAtomic(file, merged, '--write', existsSync(file) ? statSync(file).mode : 0o600);
  return { changed: true, backup };
}

/** What the summary says of the backup: this write's, or the one an earlier write made, which this one left as it was. */
export function backupNote(backup: NonNullable<WriteResult['backup']>): string {
  if (backup.madeNow) return `the file as it was is kept as ${backup.file}`;
  return `${backup.file} still holds the file as it was before xstack first wrote it, on ${backup.made.toISOString().slice(0, 10)}; this write did not change it`;
}
