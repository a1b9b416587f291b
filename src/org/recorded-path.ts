/**
 * The org file as the outputs record it (manifest, audit model and report,
 * Jenkinsfile, output marker): relative to the git work tree that holds it,
 * so that one file gives the same bytes whichever folder xstack runs in and
 * however its path was typed, and no home folder's path is committed. Outside
 * a work tree, as given when that is relative and inside the current folder,
 * else by its name alone. Errors still name the file as it was typed.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';

/** The git work tree holding `path` (a folder with `.git`, a folder or a file), if any. */
export function workTreeOf(path: string): string | undefined {
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    if (existsSync(join(dir, '.git'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

const portable = (path: string) => path.split(sep).join('/');

export function recordedPath(file: string): string {
  const tree = workTreeOf(dirname(resolve(file)));
  if (tree) return portable(relative(tree, resolve(file)));
  const given = normalize(file);
  return !isAbsolute(given) && !given.startsWith('..') ? portable(given) : basename(file);
}

/** Where a recorded path points from `near` (a folder in the same work tree), for a file recorded earlier. */
export function resolveRecorded(recorded: string, near: string): string {
  return resolve(workTreeOf(near) ?? process.cwd(), recorded);
}
