/**
 * Writes only folders xstack owns. Each folder it creates carries a marker
 * file (`.xstack-output`) naming what wrote it; a folder that exists, is not
 * empty and has no marker belongs to someone else and is refused. A folder is
 * replaced as a whole or not at all: everything is written into a sibling
 * temporary folder (marked first), then swapped in with two renames. A run
 * that died between the renames left `<name>.xstack-tmp-*` /
 * `<name>.xstack-old-*` beside it; the next run removes those, but only when
 * they hold the marker. Nothing else beside the folder is touched.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep, isAbsolute } from 'node:path';
import { XstackError } from './errors';

export const MARKER = '.xstack-output';

export class OutputError extends XstackError {
  constructor(message: string) {
    super('OUTPUT_REFUSED', message);
  }
}

/** The marker's text: deterministic (it is committed with dist/), and says what to do. */
export const markerText = (owner: string) =>
  `Written by xstack (${owner}). xstack replaces this folder as a whole on every run: keep nothing else in it.\n`;

const readOr = (file: string, fallback: string) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
};

/**
 * Written by xstack: the marker, or (folders compiled before the marker
 * existed) a manifest.json in xstack's format.
 */
const isMarked = (dir: string) =>
  readOr(join(dir, MARKER), '').startsWith('Written by xstack') || /^\{\n {2}"format": "xstack-manifest\/1",/.test(readOr(join(dir, 'manifest.json'), ''));

/** Inside or equal to `parent` (both resolved). */
const within = (path: string, parent: string) => {
  const rel = relative(parent, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
};

/**
 * Why `dir` may not be written, or undefined. Absent, empty, marked, or inside
 * a marked folder (an org's `audit/` inside `dist/<org>/`) is ours.
 */
export function ownershipProblem(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const stat = lstatSync(dir);
  if (!stat.isDirectory()) return `${dir} exists and is not a folder`;
  if (isMarked(dir) || isMarked(dirname(resolve(dir)))) return undefined;
  // Empty, or holding only folders xstack wrote (`audit` written before the first compile).
  if (readdirSync(dir).every((name) => lstatSync(join(dir, name)).isDirectory() && isMarked(join(dir, name)))) return undefined;
  return `${dir} holds files xstack did not write (it has no ${MARKER} marker); move them away, or choose another --out`;
}

/**
 * Refuses an output root that would mix xstack's folders into a project: the
 * current folder or one above it, a repository's root (holds `.git`), or a
 * folder holding one of the input files.
 */
export function outputRootProblem(out: string, inputs: readonly string[]): string | undefined {
  const root = resolve(out);
  if (within(process.cwd(), root)) return `--out ${out} is the current folder or one above it; xstack writes one folder per organization and needs a folder of its own (the default is dist)`;
  if (existsSync(join(root, '.git'))) return `--out ${out} is the root of a git repository; choose a folder of its own, such as ${join(out, 'dist')}`;
  const input = inputs.find((f) => within(resolve(f), root));
  if (input) return `--out ${out} holds the organization file ${input}; keep organization files outside the output folder`;
  return undefined;
}

/** Removes `<name>.xstack-tmp-*` / `<name>.xstack-old-*` left beside `dir` by a run that died, when they are ours. */
function removeLeftovers(dir: string): void {
  const parent = dirname(dir);
  const base = basename(dir);
  for (const name of readdirSync(parent)) {
    if (!name.startsWith(`${base}.xstack-tmp-`) && !name.startsWith(`${base}.xstack-old-`)) continue;
    const path = join(parent, name);
    if (lstatSync(path).isDirectory() && (isMarked(path) || isMarked(resolve(parent)))) rmSync(path, { recursive: true, force: true });
  }
}

/**
 * Replaces `dir` with exactly `files` (path → content) and the marker (none
 * when `dir` lies inside a marked folder: the outer marker covers it). When
 * several folders are written, check `ownershipProblem` for all of them first.
 */
export function replaceOwnedFolder(dir: string, files: ReadonlyMap<string, string>, owner: string): void {
  const problem = ownershipProblem(dir);
  if (problem) throw new OutputError(problem);
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  removeLeftovers(dir);
  const nested = isMarked(resolve(parent));
  const tmp = join(parent, `${basename(dir)}.xstack-tmp-${process.pid}`);
  const old = join(parent, `${basename(dir)}.xstack-old-${process.pid}`);
  try {
    mkdirSync(tmp);
    // Marked before anything else, so that a leftover of this run is recognised as ours.
    writeFileSync(join(tmp, MARKER), markerText(owner));
    for (const [path, content] of files) {
      const target = join(tmp, path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, content);
    }
    if (nested) rmSync(join(tmp, MARKER));
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
  const hadOld = existsSync(dir);
  if (hadOld) renameSync(dir, old);
  renameSync(tmp, dir);
  if (hadOld) rmSync(old, { recursive: true, force: true });
}
