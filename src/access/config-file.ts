/** Writes profiles into an AWS config file: backup first, atomic replace, no write when nothing changes; its folder must exist (the CLI checks it). */
import { constants, copyFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { systemErrorReason } from '../errors';
import { OutputError, writeFileAtomic } from '../write';
import { mergeIntoConfig, type Profile } from './profiles';

export interface WriteResult {
  changed: boolean;
  backup?: string;
}

/**
 * The backup is the file as it was before xstack first wrote to it, kept: a later write (other options, another org)
 * would otherwise replace it with a file xstack had already changed.
 */
export function writeProfiles(file: string, orgName: string, profiles: readonly Profile[]): WriteResult {
  if (existsSync(file) && statSync(file).isDirectory()) throw new OutputError(`--write ${file} is a folder; give the config file in it, e.g. ~/.aws/config`);
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const merged = mergeIntoConfig(existing, orgName, profiles);
  if (merged === existing) return { changed: false };
  let backup: string | undefined;
  if (existsSync(file)) {
    backup = `${file}.xstack-backup`;
    if (!existsSync(backup)) {
      try {
        copyFileSync(file, backup, constants.COPYFILE_EXCL);
      } catch (error) {
        throw new OutputError(`could not back up ${file} to ${backup} (${systemErrorReason(error) ?? (error as Error).message}); ${file} was left as it was`);
      }
    }
  }
  writeFileAtomic(file, merged, '--write', existsSync(file) ? statSync(file).mode : 0o600);
  return { changed: true, backup };
}
