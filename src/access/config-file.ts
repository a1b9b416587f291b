/** Writes profiles into an AWS config file: backup first, atomic replace, no write when nothing changes; its folder must exist (the CLI checks it). */
import { copyFileSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { mergeIntoConfig, type Profile } from './profiles';

export interface WriteResult {
  changed: boolean;
  backup?: string;
}

export function writeProfiles(file: string, orgName: string, profiles: readonly Profile[]): WriteResult {
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const merged = mergeIntoConfig(existing, orgName, profiles);
  if (merged === existing) return { changed: false };
  let backup: string | undefined;
  if (existsSync(file)) {
    backup = `${file}.xstack-backup`;
    copyFileSync(file, backup);
  }
  const tmp = `${file}.xstack-tmp-${process.pid}`;
  writeFileSync(tmp, merged, { mode: existsSync(file) ? statSync(file).mode : 0o600 });
  renameSync(tmp, file);
  return { changed: true, backup };
}
