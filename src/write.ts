/**
 * Writes only folders xstack owns, and never loses a file a user put in one.
 * Each folder it writes carries a marker file (`.xstack-output`) naming the
 * command and the organization file that wrote it. An existing folder is
 * replaced only when all of it is xstack's as xstack wrote it: marked, written
 * by the same command from the same organization file, and holding no file beyond those its
 * manifest.json lists, each with the SHA-256 recorded there (a folder without
 * a manifest, an audit bundle: the files this run writes). Anything else is
 * refused before anything is written, naming the files. So is a folder this
 * user cannot write, or one inside another xstack output folder.
 *
 * A folder is replaced as a whole or not at all: everything is written into a
 * sibling temporary folder (marked first), then swapped in with two renames.
 * A run that died between the renames left `<name>.xstack-tmp-*` /
 * `<name>.xstack-old-*` beside it; the next run removes those, but only when
 * they hold the marker, and one it cannot remove is a warning naming it, not
 * a failed run. Nothing else beside the folder is touched.
 */
import { accessSync, chmodSync, constants, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { constants as osConstants, hostname } from 'node:os';
import { basename, dirname, join, relative, resolve, sep, isAbsolute } from 'node:path';
import { systemErrorReason, XstackError } from './errors';
import { sha256 } from './hash';
import { compareText } from './order';
import { resolveRecorded } from './org/recorded-path';

export const MARKER = '.xstack-output';
const MANIFEST = 'manifest.json';
const ORG_FILE_LINE = 'Organization file: ';

export class OutputError extends XstackError {
  constructor(
    message: string,
    /** Whether running again may succeed (a full disk freed); not when the folder can never be swapped (a mount point). */
    readonly retryable = true,
  ) {
    super('OUTPUT_REFUSED', message);
  }
}

/** What writes a folder: the command, and the organization file as the manifest records it. */
export interface Owner {
  command: 'compile' | 'audit';
  org: string;
  orgFile: string;
}

/** The marker's opening words: which command wrote the folder, for which org (markedBy reads them back). */
const markerHead = (owner: Pick<Owner, 'command' | 'org'>) => `Written by xstack (${owner.command} of organization '${owner.org}')`;

/**
 * The marker's text: deterministic (it is committed with dist/), and says what to do. A folder with a manifest.json
 * has the manifest's SHA-256 in its marker: the manifest records every other file's, but not its own, and an edit to
 * it would be lost at the next run (review s38-cli M9). A folder without one (audit's) has each file's SHA-256 there
 * instead, so that an auditor's note in its report is refused as compile refuses one, not lost (review s46-cli m3).
 */
export const markerText = (owner: Owner, manifest?: string, files?: ReadonlyMap<string, string>) =>
  `${markerHead(owner)}. xstack replaces this folder as a whole on every run, ` +
  `and refuses to while it holds a file xstack did not write: keep your own files elsewhere.\n${ORG_FILE_LINE}${owner.orgFile}\n` +
  (manifest !== undefined
    ? hashLine(MANIFEST, sha256(manifest))
    : [...(files ?? new Map<string, string>())].sort(([a], [b]) => compareText(a, b)).map(([path, text]) => hashLine(path, sha256(text))).join(''));
const hashLine = (path: string, hash: string) => `${path} SHA-256: ${hash}\n`;
/** A marker's lines of files and their SHA-256, after its organization file's line. */
const HASH_LINE = /^(.+) SHA-256: ([0-9a-f]{64})$/gm;
const recordedHashes = (marker: string): Array<[string, string]> => [...marker.matchAll(HASH_LINE)].map((m) => [m[1]!, m[2]!]);

/**
 * The files of the marked folder `dir` that xstack writes without recording them in its manifest, changed since: the
 * manifest, against the SHA-256 its marker records (a marker written before the record has none), and the marker,
 * against the texts xstack has written for this run's owner, or for the owner the marker names (a folder renamed):
 * today's, and the first marker's (f405b3c), which had no organization file line and other closing words.
 */
function changedMarks(dir: string, owner: Owner): string[] {
  const marker = readOr(join(dir, MARKER), '').replaceAll('\r\n', '\n');
  // The name as far as the words after it: an org file's stem may hold a quote or a parenthesis (bob's.yaml).
  const named = /^Written by xstack \((compile|audit) of organization '([^\n]*)'\)\. xstack replaces /.exec(marker);
  const orgFile = marker.split('\n').find((l) => l.startsWith(ORG_FILE_LINE))?.slice(ORG_FILE_LINE.length);
  const hashes = recordedHashes(marker);
  const recorded = hashes.find(([path]) => path === MANIFEST)?.[1];
  const changed: string[] = [];
  if (recorded !== undefined && existsSync(join(dir, MANIFEST)) && !asWritten(join(dir, MANIFEST), recorded)) changed.push(join(dir, MANIFEST));
  const owners: Array<Pick<Owner, 'command' | 'org'>> = [owner, ...(named ? [{ command: named[1] as Owner['command'], org: named[2]! }] : [])];
  const written = owners.flatMap((o) => [
    ...(orgFile === undefined ? [] : [markerText({ ...o, orgFile }) + hashes.map(([path, hash]) => hashLine(path, hash)).join('')]),
    `${markerHead(o)}. xstack replaces this folder as a whole on every run: keep nothing else in it.\n`,
  ]);
  if (existsSync(join(dir, MARKER)) && !written.includes(marker)) changed.push(join(dir, MARKER));
  return changed;
}

const readOr = (file: string, fallback: string) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
};

/** Holds xstack's marker. */
const hasMarker = (dir: string) => readOr(join(dir, MARKER), '').startsWith('Written by xstack');

/**
 * Written by xstack: the marker, or (folders compiled before the marker
 * existed) a manifest.json in xstack's format.
 */
const isMarked = (dir: string) => hasMarker(dir) || /^\{\n {2}"format": "xstack-manifest\/1",/.test(readOr(join(dir, MANIFEST), ''));

/** Marked as written by `owner`'s command for its organization. */
const markedBy = (dir: string, owner: Owner) => readOr(join(dir, MARKER), '').startsWith(markerHead(owner));

/** `path` resolved, its links followed as far as it exists (the rest, not made yet, as given). */
function realPath(path: string): string {
  const absolute = resolve(path);
  let existing = absolute;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  try {
    return join(realpathSync(existing), relative(existing, absolute));
  } catch {
    return absolute;
  }
}

/** Inside or equal to `parent` (both resolved). */
const within = (path: string, parent: string) => {
  const rel = relative(parent, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
};

/**
 * A folder above `dir` that xstack wrote (and replaces as a whole), as the user would type it. Only the marker tells:
 * a manifest.json alone (which marks a folder compiled before the marker existed) may be a copy the user keeps in a
 * project folder, and would refuse every --out in it (review s38-cli M8); a marker-less output above `dir` still
 * refuses its next compile, naming what this run wrote into it.
 */
function markedAncestor(dir: string): string | undefined {
  for (let up = dirname(resolve(dir)); ; up = dirname(up)) {
    if (hasMarker(up)) return relative(process.cwd(), up) || '.';
    if (dirname(up) === up) return undefined;
  }
}

/** The organization file the marker of `dir` records, as recorded. */
function markedOrgFile(dir: string): string | undefined {
  // Split on CRLF too: a checkout with git's core.autocrlf writes the marker so, and a recorded path ending in \r
  // would name no file, which would read as "no clash".
  const line = readOr(join(dir, MARKER), '').split(/\r?\n/).find((l) => l.startsWith(ORG_FILE_LINE));
  return line?.slice(ORG_FILE_LINE.length);
}

/**
 * The organization file another run wrote `dir` from, when that file still exists and is not `orgFile` (a moved or
 * renamed org file is no clash). Both as the outputs record them (recorded-path.ts), found from the folder's work tree;
 * a marker an earlier xstack wrote may hold the path as it was typed, which resolves the same.
 */
function otherOrgFile(dir: string, orgFile: string): string | undefined {
  const recorded = markedOrgFile(dir);
  if (!recorded || recorded === orgFile) return undefined;
  const theirs = resolveRecorded(recorded, dir);
  const ours = resolveRecorded(orgFile, dir);
  if (!existsSync(theirs)) return undefined;
  return existsSync(ours) && realpathSync(theirs) === realpathSync(ours) ? undefined : recorded;
}

/** The command that wrote the marked folder `dir`, as its marker says; a folder compiled before the marker existed has only xstack's manifest. */
function writerOf(dir: string): Owner['command'] | undefined {
  const named = /^Written by xstack \((compile|audit) of organization /.exec(readOr(join(dir, MARKER), ''))?.[1];
  if (named) return named as Owner['command'];
  // Callers ask only of folders they found marked or holding xstack's manifest: no marker means the manifest's compile.
  return existsSync(join(dir, MARKER)) ? undefined : 'compile';
}

/** Where `owner`'s command writes without --out. */
const defaultOut = (owner: Owner) => (owner.command === 'audit' ? `audit/${owner.org}` : 'dist');

/**
 * A folder another xstack command wrote: an audit bundle written over a compile's folder would replace its templates
 * and manifest (every file of it is xstack's, so nothing reads as stray), and a compile over an audit's likewise.
 */
function otherCommandProblem(dir: string, owner: Owner): string | undefined {
  const writer = writerOf(dir);
  if (!writer || writer === owner.command) return undefined;
  const recorded = markedOrgFile(dir);
  const of = recorded ? ` of ${recorded}` : '';
  const what = writer === 'compile' ? `the compile${of} (templates, values, manifest.json)` : `the audit bundle${of}`;
  return `${dir} holds ${what}, which xstack ${writer} wrote; ${owner.command} writes a folder of its own, apart from the ${writer}'s: choose another --out (default ${defaultOut(owner)})`;
}

/**
 * Every file under `dir` (links and anything else that is not a folder included, never followed), as `a/b` paths, and
 * every empty folder as `a/`: xstack writes no empty folder, so one is the user's (review s30-cli m8).
 */
const filesUnder = (dir: string, prefix = ''): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (!e.isDirectory()) return [`${prefix}${e.name}`];
    const inside = filesUnder(join(dir, e.name), `${prefix}${e.name}/`);
    return inside.length > 0 ? inside : [`${prefix}${e.name}/`];
  });

/** `dir` and every folder under it; one gone while read (another run's swap, before this run holds the lock) has none. */
const foldersUnder = (dir: string): string[] => [dir, ...entriesOf(dir).flatMap((e) => (e.isDirectory() ? foldersUnder(join(dir, e.name)) : []))];

function entriesOf(dir: string) {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/**
 * The files xstack wrote into `dir`, with their SHA-256 where its manifest.json records them; a message when the
 * manifest is there but not xstack's, so that nothing in the folder can be told apart.
 */
function writtenFiles(dir: string, files: ReadonlyMap<string, string>): Map<string, string | undefined> | string {
  const manifest = join(dir, MANIFEST);
  if (!existsSync(manifest)) {
    // The files the marker records with their SHA-256 (audit's folder); a marker written before it recorded them, none.
    const recorded = new Map<string, string | undefined>(recordedHashes(readOr(join(dir, MARKER), '').replaceAll('\r\n', '\n')));
    // A compile's marker records its manifest alone, which holds every other file's SHA-256: gone, nothing in the folder
    // can be told from a file changed since, as with a manifest that is not xstack's (review s50-input M1).
    if (recorded.has(MANIFEST)) {
      return `${manifest} is missing, so xstack cannot tell whether the files in ${dir} were changed since it wrote them, and nothing was written: restore it (e.g. git checkout -- ${manifest}), or delete ${dir} if nothing in it is yours`;
    }
    return new Map([...files.keys(), ...recorded.keys()].map((path) => [path, recorded.get(path)]));
  }
  try {
    const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { format?: unknown; files?: Record<string, { sha256?: unknown }> };
    if (parsed.format !== 'xstack-manifest/1' || typeof parsed.files !== 'object' || parsed.files === null) throw new Error('not an xstack manifest');
    return new Map([[MANIFEST, undefined], ...Object.entries(parsed.files).map(([path, f]): [string, string] => [path, String(f?.sha256)])]);
  } catch {
    if (CONFLICT_MARKERS.test(readOr(manifest, ''))) return conflicted(dir, manifest);
    return `${manifest} is not the manifest xstack wrote, so xstack cannot tell its files in ${dir} from yours and nothing was written: restore it (e.g. git checkout -- ${dir}), or delete ${dir} if nothing in it is yours`;
  }
}

/** git's conflict markers, at the start of a line (https://git-scm.com/docs/git-merge#_how_conflicts_are_presented). */
export const CONFLICT_MARKERS = /^(<<<<<<<|=======|>>>>>>>)( |$)/m;

/** A generated folder that a merge left conflicted: `git checkout --` refuses unmerged paths, so compiling anew is the way. */
const conflicted = (dir: string, file: string) =>
  `${file} holds unresolved merge conflicts (git); ${dir} is generated, so nothing was written: delete ${dir} (rm -rf ${dir}), compile again, then git add ${dir}`;

/**
 * Whether a file is as xstack wrote it: its SHA-256, or the SHA-256 of its text with CRLF line ends made LF (a
 * checkout with git's core.autocrlf writes every text file so; xstack writes LF).
 */
function asWritten(path: string, recorded: string): boolean {
  const bytes = readFileSync(path);
  if (sha256(bytes) === recorded) return true;
  return bytes.includes(13) && sha256(bytes.toString('utf8').replaceAll('\r\n', '\n')) === recorded;
}

const listed = (paths: readonly string[]) => (paths.length <= 5 ? paths.join(', ') : `${paths.slice(0, 5).join(', ')} and ${paths.length - 5} more`);

/**
 * Files in the marked folder `dir` that xstack did not write, or that changed since it wrote them. Both are refused,
 * never replaced: an edited template may hold a fix the user is trying out, and a compile that discarded it (or set
 * it aside somewhere unasked) would lose it without a word; deleting or restoring the file is one command, named.
 */
function strayFiles(dir: string, files: ReadonlyMap<string, string>, owner: Owner): string | undefined {
  const written = writtenFiles(dir, files);
  if (typeof written === 'string') return written;
  const foreign: string[] = [];
  const edited: string[] = changedMarks(dir, owner);
  for (const path of filesUnder(dir).sort(compareText)) {
    if (path === MARKER) continue;
    if (!written.has(path)) foreign.push(join(dir, path));
    else if (written.get(path) !== undefined && !asWritten(join(dir, path), written.get(path)!)) edited.push(join(dir, path));
  }
  if (foreign.length + edited.length === 0) return undefined;
  const unmerged = edited.find((file) => CONFLICT_MARKERS.test(readOr(file, '')));
  if (unmerged) return conflicted(dir, unmerged);
  const what = [foreign.length > 0 ? `files xstack did not write (${listed(foreign)})` : '', edited.length > 0 ? `files changed since xstack wrote them (${listed(edited)})` : ''];
  // The audit folder is not committed (.gitignore), dist/<org>/ is.
  const restore = edited.length > 0 && owner.command === 'compile' ? ` (git checkout -- ${dir} restores a committed folder)` : '';
  return `${dir} holds ${what.filter(Boolean).join(' and ')}; xstack replaces this folder as a whole, so nothing was written: move them out of ${dir} to keep them, or delete them${restore}, then run again`;
}

const lstatOrUndefined = (path: string) => {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
};

/**
 * What xstack writes beside a path, with the bytes each takes beyond the path's own name (a process id of up to 7
 * digits: Linux's pid_max is at most 2^22, proc(5)): the lock and staged folder beside an output folder, the
 * temporary file beside a file it replaces.
 */
export const BESIDE = {
  folder: { names: '.<name>.xstack-lock.<id> and <name>.xstack-tmp-<id>', bytes: '..xstack-lock.'.length + 7 },
  file: { names: '<name>.xstack-tmp-<id>', bytes: '.xstack-tmp-'.length + 7 },
} as const;
/** A file system's most for one name (NAME_MAX on Linux and macOS). */
const NAME_MAX = 255;

/**
 * Why `path`'s name leaves no room for the names xstack writes beside it, which the file system would refuse as too
 * long while the name itself is fine (review s38-helpers-diff H9); undefined when it does.
 */
export function roomBesideProblem(path: string, beside: (typeof BESIDE)[keyof typeof BESIDE]): string | undefined {
  const bytes = Buffer.byteLength(basename(path));
  if (bytes + beside.bytes <= NAME_MAX) return undefined;
  return `its name is ${bytes} bytes: xstack writes ${beside.names} beside it, and a file system takes at most ${NAME_MAX} bytes for a name, so this one may have at most ${NAME_MAX - beside.bytes}`;
}

/**
 * A folder mounted where xstack writes `dir`: the swap renames it, which the system refuses for a mount point (EBUSY),
 * whatever is tried again (review s38-cli m8).
 */
const mountPoint = (dir: string) =>
  `${dir} is a mount point, and xstack replaces the folder by renaming it, which a mount point does not allow: mount its parent instead (its folder ${dirname(dir)}), or choose another --out`;

/** Another file system is mounted at `dir` (a bind mount of the same one shows only when the swap is refused). */
const isMountPoint = (dir: string) => statSync(dir).dev !== statSync(dirname(resolve(dir))).dev;

/** A file or a link where a folder is needed: xstack never writes through a link (review s38-cli m12). */
const inTheWay = (path: string) =>
  lstatOrUndefined(path)?.isSymbolicLink()
    ? `${path} is a symbolic link (to ${readlinkSync(path)}); xstack writes a folder of its own there, never through a link: remove the link, or choose another --out`
    : `${path} is not a folder; move it away, or choose another --out`;

/** Not writable, with who owns it when that is someone else. */
function notWritable(path: string, code: string | undefined): string {
  if (code === 'EROFS') return `${path} is on a read-only file system`;
  const uid = statSync(path).uid;
  const owner = uid === process.getuid?.() ? '' : ` (owned by ${uid === 0 ? 'root' : `user id ${uid}`})`;
  return `${path} is not writable by you${owner}`;
}

const accessError = (path: string, mode = constants.W_OK | constants.X_OK): string | undefined => {
  try {
    accessSync(path, mode);
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'EACCES';
  }
};

/**
 * Why this user cannot replace `dir`, checked before anything is written: the folder that gets the new one must be
 * writable, and so must every folder of the old one (emptied when it goes).
 */
function writeProblem(dir: string): string | undefined {
  let parent = dirname(dir);
  while (!existsSync(parent)) parent = dirname(parent);
  if (!statSync(parent).isDirectory()) return inTheWay(parent);
  for (const folder of [parent, ...(existsSync(dir) ? foldersUnder(dir) : [])]) {
    const code = accessError(folder);
    // Gone since it was listed: another run replaced the folder (lockOutput checks before it holds the lock, and
    // replaceProblem again under it), not a folder this user cannot write.
    if (code === 'ENOENT' && folder !== parent) continue;
    if (code) return `${notWritable(folder, code)}, so xstack cannot ${existsSync(dir) ? 'replace' : 'write'} ${dir}; fix its permissions, or choose another --out`;
  }
  return undefined;
}

/** A folder inside one xstack writes and replaces as a whole. */
function nestedProblem(dir: string): string | undefined {
  const above = markedAncestor(dir);
  return above ? `${dir} lies inside ${above}, which xstack writes and replaces as a whole; choose a folder outside it` : undefined;
}

/**
 * Why `dir` may not be replaced with `files` by `owner`, or undefined: absent, empty, or marked and holding only
 * what xstack wrote there from the same organization file; and writable. When several folders are written, check
 * every one of them first.
 */
function replaceProblem(dir: string, owner: Owner, files: ReadonlyMap<string, string>): string | undefined {
  const nested = nestedProblem(dir);
  if (nested) return nested;
  const stat = lstatOrUndefined(dir);
  if (stat) {
    if (!stat.isDirectory()) return inTheWay(dir);
    if (isMountPoint(dir)) return `${mountPoint(dir)}; nothing was written`;
    if (!isMarked(dir)) {
      const entries = readdirSync(dir).sort(compareText);
      if (entries.length > 0 && entries.every((name) => lstatSync(join(dir, name)).isDirectory() && isMarked(join(dir, name)))) {
        // The --out of a compile (dist, holding dist/example/): its files are xstack's, but not one folder's (review s38-cli m7).
        return `${dir} holds xstack's output folders (${listed(entries.map((name) => `${join(dir, name)}/`))}), each written on its own, and is not one itself; give ${owner.command} a folder of its own with --out (default ${defaultOut(owner)})`;
      }
      if (entries.length > 0) return `${dir} holds files xstack did not write (it has no ${MARKER} marker); move them away, or choose another --out`;
    } else {
      const otherCommand = otherCommandProblem(dir, owner);
      if (otherCommand) return otherCommand;
      const other = otherOrgFile(dir, owner.orgFile);
      if (other) {
        return `${dir} holds the ${owner.command} of ${other}, not of ${owner.orgFile}: two organization files of one name would replace each other's output; give ${owner.orgFile} another --out (or rename one of the files), or delete ${dir} if the output of ${other} is no longer wanted`;
      }
      const stray = strayFiles(dir, files, owner);
      if (stray) return stray;
    }
  }
  return writeProblem(dir);
}

/** A folder where the file should be (`--write ~/.aws` for `~/.aws/config`). */
const folderNotFile = (file: string, option: string) =>
  `${option} ${file} is a folder; give the ${option === '--write' ? 'config file in it, e.g. ~/.aws/config' : 'file to write in it'}`;

/**
 * Why this user may not replace the existing file `target` (`file` as given): one made read-only (chmod a-w, a
 * dotfiles manager, an admin) is refused as `aws configure set` refuses it, though the rename that replaces it needs
 * only its folder to be writable; undefined when it is writable or not there.
 */
function readOnlyProblem(target: string, file: string, option: string): string | undefined {
  if (!existsSync(target)) return undefined;
  const code = accessError(target, constants.W_OK);
  if (code === 'EROFS') return `${option} ${file} is on a read-only file system`;
  const { mode, uid } = statSync(target);
  // access(W_OK) passes for root whatever the mode: a file with no write bit is read-only by its owner's choice, for
  // root as for anyone (review s30-cli m2).
  if (!code && (mode & 0o222) !== 0) return undefined;
  const mine = uid === process.getuid?.();
  const fix = mine ? `make it writable (chmod u+w ${file}) to let xstack change it` : 'fix its permissions to let xstack change it';
  // A path the user gave (an option) may be another; the layout file's is fixed, beside its org file.
  const elsewhere = option.startsWith('--') ? ', or choose another path' : '';
  return `${option} ${file} is read-only${mine ? '' : ` for you (owned by ${uid === 0 ? 'root' : `user id ${uid}`})`} (mode ${(mode & 0o7777).toString(8).padStart(4, '0')}); ${fix}${elsewhere}`;
}

/**
 * Why a single file cannot be written at `file` (given as `option FILE`): it must not be a folder or read-only; its
 * folder must exist (a typo'd path is not created), be a folder and be writable.
 */
export function fileTargetProblem(file: string, option: string): string | undefined {
  if (existsSync(file) && statSync(file).isDirectory()) return folderNotFile(file, option);
  const parent = dirname(file);
  if (!existsSync(parent)) return `${option} ${file}: the folder ${parent} does not exist; create it first, or correct the path`;
  if (!statSync(parent).isDirectory()) return `${option} ${file}: ${parent} is not a folder; correct the path`;
  const code = accessError(parent);
  // A path the user gave (an option) may be another; the layout file's is fixed, beside its org file.
  if (code) return `${option} ${file}: ${notWritable(parent, code)}; fix its permissions${option.startsWith('--') ? ', or choose another path' : ''}`;
  return readOnlyProblem(file, file, option);
}

/**
 * Refuses an output root that would mix xstack's folders into a project: the
 * current folder or one above it, a repository's root (holds `.git`), or a
 * folder holding one of the input files.
 */
export function outputRootProblem(out: string, inputs: readonly string[]): string | undefined {
  // Compared as real paths: a link to the current folder (ln -s . here; --out here) is the current folder (review s38-cli m6).
  const root = realPath(out);
  if (within(realPath(process.cwd()), root)) return `--out ${out} is the current folder or one above it; xstack writes one folder per organization and needs a folder of its own (the default is dist)`;
  if (existsSync(join(root, '.git'))) return `--out ${out} is the root of a git repository; choose a folder of its own, such as ${join(out, 'dist')}`;
  const input = inputs.find((f) => within(realPath(f), root));
  if (input) return `--out ${out} holds the organization file ${input}; keep organization files outside the output folder`;
  return undefined;
}

const leftoverWarning = (path: string, error: unknown) =>
  `warning: could not remove ${path}, an earlier output xstack had set aside (${systemErrorReason(error) ?? (error as Error).message}); the new output is in place: delete ${path} yourself`;

/** A folder a run set aside beside `dir`: its staged new output (`tmp`) or the output it replaced (`old`). */
interface SetAside {
  readonly path: string;
  readonly kind: 'tmp' | 'old';
  /** The id of the run that set it aside. */
  readonly id: number;
}

/**
 * The folders set aside beside `dir` by a run that has ended (killed): named exactly `<name>.xstack-tmp-<id>` or
 * `<name>.xstack-old-<id>` and marked as `owner`'s, so that the output of an org whose own name looks so (one
 * compiled from `example.xstack-old-1.yaml` beside `example`) is never one (review s38-cli M1). Another run's folder,
 * while that run lives, is not one either (the lock keeps two runs apart; this is the second guard).
 */
function setAsideBy(dir: string, owner: Owner): SetAside[] {
  const parent = dirname(dir);
  const pattern = setAsidePattern(dir);
  return readdirSync(parent).sort(compareText).flatMap((name): SetAside[] => {
    const match = pattern.exec(name);
    const path = join(parent, name);
    if (!match || !lstatSync(path).isDirectory() || !markedBy(path, owner)) return [];
    const pid = Number(match[2]);
    return pid !== process.pid && isAlive(pid) ? [] : [{ path, kind: match[1] as SetAside['kind'], id: pid }];
  });
}

/** Removes the folders a killed run set aside beside `dir` (setAsideBy); warnings for those it cannot. */
function removeLeftovers(dir: string, owner: Owner): string[] {
  const warnings: string[] = [];
  for (const { path } of setAsideBy(dir, owner)) {
    try {
      removeOwned(path);
    } catch (error) {
      warnings.push(leftoverWarning(path, error));
    }
  }
  // A run killed before it marked its staged folder left it empty: nothing in it to tell or lose (rmdir takes only an
  // empty folder; review s38-helpers-diff H10).
  const pattern = setAsidePattern(dir);
  for (const name of readdirSync(dirname(dir))) {
    const match = pattern.exec(name);
    if (match?.[1] !== 'tmp' || isAlive(Number(match[2]))) continue;
    try {
      rmdirSync(join(dirname(dir), name));
    } catch {
      // Not empty, or not a folder: not this case.
    }
  }
  return warnings;
}

/** `<name>.xstack-tmp-<id>` and `<name>.xstack-old-<id>` beside `dir`, exactly. */
const setAsidePattern = (dir: string) => new RegExp(`^${basename(dir).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.xstack-(tmp|old)-(\\d+)$`);

/**
 * A run killed between its swap's two renames left `dir` missing, its output in `<name>.xstack-old-<id>` and the new
 * one in `<name>.xstack-tmp-<id>` (review s38-cli M11): the output is put back before anything else, so that the folder
 * is checked and replaced as it was, never removed as a leftover, and said (a note). Only that state: an `old` alone
 * is one a run killed while removing it left, part of an output older than the one gone, never put back; and the one
 * put back holds every file its manifest lists (review s38-helpers-diff H3).
 */
function restoreSetAside(dir: string, owner: Owner): string[] {
  if (lstatOrUndefined(dir) || !existsSync(dirname(dir))) return [];
  const setAside = setAsideBy(dir, owner);
  const swapped = setAside.filter((s) => s.kind === 'old' && setAside.some((t) => t.kind === 'tmp' && t.id === s.id) && isWhole(s.path));
  if (swapped.length !== 1) return [];
  const [old] = swapped;
  try {
    renameSync(old.path, dir);
  } catch (error) {
    throw new OutputError(
      `${dir} is missing, and ${old.path} holds its earlier output (a run stopped during its swap set it aside); xstack could not put it back (${systemErrorReason(error) ?? (error as Error).message}), so nothing was written: rename it to ${dir}, then run again`,
    );
  }
  return [`note: ${dir} was missing: put back from ${old.path}, where a run stopped during its swap had set it aside`];
}

/** Whether every file a folder's manifest.json lists is there. */
function isWhole(dir: string): boolean {
  const written = writtenFiles(dir, new Map());
  return typeof written !== 'string' && existsSync(join(dir, MANIFEST)) && [...written.keys()].every((path) => existsSync(join(dir, path)));
}

/**
 * Removes an earlier output of ours, what marks it as ours last (review s30-cli m4): a run killed halfway through
 * leaves a folder the next run still knows for its own (isMarked) and removes, never an unmarked one it must leave.
 */
export function removeOwned(path: string): void {
  const marks = new Set([MANIFEST, MARKER]);
  for (const name of readdirSync(path)) if (!marks.has(name)) rmSync(join(path, name), { recursive: true, force: true });
  for (const name of [MANIFEST, MARKER]) rmSync(join(path, name), { force: true });
  rmdirSync(path);
}

/** A write that failed: said of the folder the user named, never of the temporary one. */
function writeFailure(dir: string, existed: boolean, error: unknown): unknown {
  const reason = systemErrorReason(error);
  return reason ? new OutputError(`could not write ${dir} (${reason}); ${existed ? 'it was left as it was' : 'nothing was written'}`) : error;
}

/** Whether a process of this machine is running (a signal 0 reaches it, or it is someone else's). */
function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * When a process started, as Linux's /proc/PID/stat gives it (field 22, clock ticks since boot); undefined elsewhere or
 * when it is gone. With its id it names one process: an id the system gave again to another process has another start.
 * https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html
 */
function startOf(pid: number): string | undefined {
  const stat = readOr(`/proc/${pid}/stat`, '');
  // The command name (field 2) is in parentheses and may hold spaces or parentheses: fields are counted after the last `)`.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return stat !== '' && fields.length > 19 ? fields[19] : undefined;
}

/** A lock's holder: its process id, the machine's name, the process's start (startOf) or `-`. An earlier xstack wrote the id alone. */
interface Holder {
  readonly pid: number;
  readonly host?: string;
  readonly start?: string;
}
const holderText = (): string => `${process.pid} ${hostname()} ${startOf(process.pid) ?? '-'}\n`;
function readHolder(lock: string): Holder {
  const [pid, host, start] = readOr(lock, '').trim().split(/\s+/);
  return { pid: Number(pid), host: host || undefined, start: start && start !== '-' ? start : undefined };
}

/**
 * Whether a lock's holder still runs: on another machine (a shared folder) it is taken to, as nothing here can tell;
 * here, when its process is alive and, where both starts are known, is the same process (not a later one given its id).
 */
function holderRuns(holder: Holder): boolean {
  if (holder.host !== undefined && holder.host !== hostname()) return true;
  if (holder.pid === process.pid || !isAlive(holder.pid)) return false;
  const start = holder.start === undefined ? undefined : startOf(holder.pid);
  return start === undefined || start === holder.start;
}

/** Waits `ms` without returning to the event loop (the writer is synchronous). */
const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** The locks this run holds (their files), released by a signal too (below). */
const heldLocks = new Set<string>();

/** The topmost of the folders `mkdirSync(path, { recursive: true })` would make (none: undefined). */
function firstMissing(path: string): string | undefined {
  let missing: string | undefined;
  for (let p = resolve(path); !existsSync(p); p = dirname(p)) missing = p;
  return missing;
}

/**
 * `mkdirSync(path, { recursive: true })`, one folder at a time from the topmost missing: node's recursive make loops
 * forever where a parent answers EEXIST and the child ENOENT, as under /proc (review s59-cli m7); made one by one, the
 * first that cannot be made fails with ENOENT.
 */
function makeFolders(path: string): void {
  const top = firstMissing(path);
  if (top === undefined) return;
  const chain: string[] = [];
  for (let p = resolve(path); ; p = dirname(p)) {
    chain.unshift(p);
    if (p === top) break;
  }
  for (const p of chain) {
    try {
      mkdirSync(p);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A name taken by a link that leads nowhere (or round in a loop) reads as missing: its own error says why.
      statSync(p);
    }
  }
}

/**
 * Removes the empty folders from `from` up to `top` (both made by this run); a folder that holds anything stays. One
 * not there is passed over: a failed `mkdirSync(from, { recursive: true })` made only the folders above it.
 */
function removeEmptyUpTo(from: string, top: string): void {
  for (let p = resolve(from); ; p = dirname(p)) {
    try {
      rmdirSync(p);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENAMETOOLONG') return;
    }
    if (p === top || dirname(p) === p) return;
  }
}

/**
 * Holds `dir` for this run: a lock file beside it (`.<name>.xstack-lock`, this process's id), so two runs writing one
 * folder never interleave (one is refused, naming the other). The file is made with its content in one step (a
 * temporary file linked into place: `link` fails when the name exists), so a second run never reads it empty. A lock
 * whose process is gone (killed) is removed, by one run at a time, then made anew like any. Returns the release.
 */
export function lockOutput(dir: string): () => void {
  const parent = dirname(dir);
  const lock = join(parent, `.${basename(dir)}.xstack-lock`);
  const tooLong = roomBesideProblem(dir, BESIDE.folder);
  if (tooLong) throw new OutputError(`${dir}: ${tooLong}; choose a shorter --out`);
  // Compile's folders are refused by their org file's name (org/load.ts); this is audit --out's.
  if (basename(dir).includes('.xstack-')) {
    throw new OutputError(`${dir}: xstack sets folders aside beside the one it writes as <name>.xstack-tmp-<id> and <name>.xstack-old-<id>, so a name holding '.xstack-' could be taken for one; choose another --out`);
  }
  // What replaceProblem refuses without writing, refused before the lock is made there: a folder inside one xstack
  // writes (the lock would be a foreign file in it), a file in the way, a folder this user cannot write.
  const nested = nestedProblem(dir);
  if (nested) throw new OutputError(nested);
  const stat = lstatOrUndefined(dir);
  if (stat && !stat.isDirectory()) throw new OutputError(inTheWay(dir));
  const unwritable = writeProblem(dir);
  if (unwritable) throw new OutputError(unwritable);
  // Made for the lock, the folders go again with it when nothing was written into them (a run refused or failed).
  const made = firstMissing(parent);
  try {
    return takeLock(dir, lock, made);
  } catch (error) {
    if (made) removeEmptyUpTo(parent, made);
    throw error;
  }
}

function takeLock(dir: string, lock: string, made: string | undefined): () => void {
  const parent = dirname(dir);
  const mine = `${lock}.${process.pid}`;
  // A run killed between making its lock's temporary file and linking it left that file: gone once its run is.
  if (!made) {
    for (const name of readdirSync(parent)) {
      const pid = name.startsWith(`${basename(lock)}.`) ? Number(name.slice(basename(lock).length + 1)) : NaN;
      if (Number.isInteger(pid) && pid !== process.pid && !isAlive(pid)) removeQuietly(join(parent, name));
    }
  }
  try {
    makeFolders(parent);
    writeFileSync(mine, holderText());
  } catch (error) {
    removeQuietly(mine);
    throw writeFailure(dir, existsSync(dir), error);
  }
  try {
    for (let attempt = 0; attempt < 100; attempt++) {
      try {
        linkSync(mine, lock);
        heldLocks.add(lock);
        listenForSignals();
        return () => {
          heldLocks.delete(lock);
          // Ours only: a lock file another run holds is never removed by this one.
          if (readHolder(lock).pid === process.pid) removeQuietly(lock);
          if (made) removeEmptyUpTo(parent, made);
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw writeFailure(dir, existsSync(dir), error);
      }
      const holder = readHolder(lock);
      const seen = lstatOrUndefined(lock)?.ino;
      // This process's id in a lock it does not hold, or a live process started after the lock's: a killed run's
      // whose id came round again.
      if (holderRuns(holder)) throw held(dir, lock, holder);
      // A dead run's lock: removed by one run at a time (a folder made beside it, mkdir being atomic), and only when it
      // still is that lock; no run makes a lock while it is there, so read and removal see the same file.
      const takeover = `${lock}.takeover`;
      try {
        mkdirSync(takeover);
      } catch {
        // Another run is removing it; a folder left by a run killed doing so is old, and goes.
        if (Date.now() - (lstatOrUndefined(takeover)?.mtimeMs ?? Date.now()) > 10_000) removeQuietly(takeover);
        pause(20);
        continue;
      }
      try {
        if (lstatOrUndefined(lock)?.ino === seen && readHolder(lock).pid === holder.pid) removeQuietly(lock);
      } finally {
        removeQuietly(takeover);
      }
    }
  } finally {
    removeQuietly(mine);
  }
  throw new OutputError(`could not lock ${dir}: ${lock} keeps coming back; nothing was written`);
}

function held(dir: string, lock: string, holder: Holder): OutputError {
  const elsewhere = holder.host !== undefined && holder.host !== hostname() ? holder.host : undefined;
  return new OutputError(
    `another xstack (process ${holder.pid}${elsewhere ? ` on ${elsewhere}` : ''}) is writing ${dir}; nothing was written: run again when it has finished (${lock} is its lock${
      elsewhere
        ? `; this machine cannot see ${elsewhere}'s processes: delete the lock if that run has ended`
        : // A lock of an earlier xstack names the process alone, and its id may be another process's now (in a container,
          // process 1 always runs): nothing tells them apart (review s50-input m12).
          holder.start === undefined && holder.host === undefined
          ? `, as an earlier xstack wrote it, with no start time: if no xstack runs as process ${holder.pid}, delete the lock`
          : ''
    })`,
  );
}

/** A folder written beside its target, to be swapped in (swapStaged) or thrown away (discardStaged). */
export interface Staged {
  readonly dir: string;
  readonly tmp: string;
  readonly old: string;
  readonly hadOld: boolean;
  readonly warnings: string[];
}

/**
 * Ctrl-C (SIGINT) or SIGTERM while folders are locked and written. Without a listener the signal ends the run at
 * once, mid-write, leaving a staged folder (megabytes) and the lock beside the output. With one, as the checks and
 * writes are synchronous, a signal that comes then waits for them, the swap and the release: the run ends as it would
 * have, its output whole (a fraction of a second; a signal before the first lock, while the org compiles, ends the run
 * as ever). Should the listener run with a folder still staged or a lock held (a caller that waits in between), it
 * removes the staged folder, puts back a folder a half-done swap set aside, releases the locks, and ends the run with
 * 128 + the signal. Node reads a signal only between turns of its event loop, so one that came during the write
 * reaches the listener when the run ends (settleSignals): the run then ends with 128 + the signal too, saying that its
 * output is whole, so that a script running `xstack compile && …` stops there as the user asked.
 */
/** The exit code of a run a signal stopped, as a shell reports it: 128 + the signal's number. */
export const signalExitCode = (signal: NodeJS.Signals): number => 128 + osConstants.signals[signal];

const inFlight = new Set<Staged>();
let listening = false;
const onSignal = (signal: NodeJS.Signals) => {
  const whole = inFlight.size === 0 && heldLocks.size === 0;
  for (const s of inFlight) {
    removeQuietly(s.tmp);
    if (s.hadOld && !existsSync(s.dir) && existsSync(s.old)) renameSync(s.old, s.dir);
  }
  inFlight.clear();
  for (const lock of heldLocks) removeQuietly(lock);
  process.stderr.write(`xstack: stopped by ${signal}${whole ? ' after the output was written (it is whole)' : '; the folders being written were left as they were'}\n`);
  process.exit(signalExitCode(signal));
};
/** Lets a signal that came during the write reach its listener (above) before the run ends: one turn of the event loop, whose poll reads it. */
export async function settleSignals(): Promise<void> {
  if (listening) await new Promise((done) => setImmediate(done));
}
/** Installed with the first lock: from then on a signal waits for the synchronous write, and releases the locks. */
function listenForSignals(): void {
  if (!listening) for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, onSignal);
  listening = true;
}
function track(s: Staged): void {
  listenForSignals();
  inFlight.add(s);
}
const untrack = (s: Staged) => inFlight.delete(s);

/**
 * Writes `files` and the marker into a folder beside `dir`, checked first (replaceProblem). Nothing the user sees
 * changes until swapStaged; a failure removes what it wrote and is said of `dir`. Ctrl-C waits for the swap (above).
 */
export function stageOwnedFolder(dir: string, files: ReadonlyMap<string, string>, owner: Owner): Staged {
  const restored = restoreSetAside(dir, owner);
  const problem = replaceProblem(dir, owner, files);
  if (problem) throw new OutputError([...restored, problem].join('; '));
  const parent = dirname(dir);
  const staged: Staged = {
    dir,
    tmp: join(parent, `${basename(dir)}.xstack-tmp-${process.pid}`),
    old: join(parent, `${basename(dir)}.xstack-old-${process.pid}`),
    hadOld: existsSync(dir),
    warnings: [...restored],
  };
  track(staged);
  try {
    makeFolders(parent);
    staged.warnings.push(...removeLeftovers(dir, owner));
    mkdirSync(staged.tmp);
    // Marked before anything else, so that a leftover of this run is recognised as ours.
    writeFileSync(join(staged.tmp, MARKER), markerText(owner, files.get(MANIFEST), files.has(MANIFEST) ? undefined : files));
    for (const [path, content] of files) {
      const target = join(staged.tmp, path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, content);
    }
  } catch (error) {
    discardStaged(staged);
    throw writeFailure(dir, staged.hadOld, error);
  }
  return staged;
}

export function discardStaged(staged: Staged): void {
  removeQuietly(staged.tmp);
  untrack(staged);
}

/** Puts a staged folder in place of its target with two renames; returns warnings (an earlier output it could not remove). */
export function swapStaged(staged: Staged): string[] {
  const { dir, tmp, old, hadOld, warnings } = staged;
  try {
    if (hadOld) renameSync(dir, old);
    try {
      renameSync(tmp, dir);
    } catch (error) {
      if (hadOld) {
        try {
          renameSync(old, dir);
        } catch {
          discardStaged(staged);
          throw new OutputError(`could not write ${dir} (${systemErrorReason(error) ?? (error as Error).message}), nor put the earlier output back: it is in ${old}; rename it to ${dir}`);
        }
      }
      throw error;
    }
  } catch (error) {
    if (error instanceof OutputError) throw error;
    discardStaged(staged);
    const code = (error as NodeJS.ErrnoException).code;
    if (hadOld && code === 'EBUSY') throw new OutputError(`could not replace ${dir}: ${mountPoint(dir)}; it was left as it was`, false);
    // overlayfs refuses to rename a folder of a lower layer (a dist/ copied into a Docker image, compiled in a RUN
    // step) with EXDEV, though it is no mount point (review s38-helpers-diff H5).
    if (hadOld && code === 'EXDEV') {
      throw new OutputError(
        `could not replace ${dir}: this file system cannot rename it (${systemErrorReason(error) ?? code}; a folder of a lower overlayfs layer, such as one copied into a Docker image, is so); it was left as it was: it is generated, so delete it (rm -rf ${dir}) and compile again, or compile into a folder made in this layer or a volume`,
        false,
      );
    }
    throw writeFailure(dir, hadOld, error);
  }
  untrack(staged);
  if (hadOld) {
    try {
      removeOwned(old);
    } catch (error) {
      warnings.push(leftoverWarning(old, error));
    }
  }
  return warnings;
}

/**
 * Replaces `dir` with exactly `files` (path → content) and the marker, holding its lock. Returns warnings (an
 * earlier output that could not be removed); the new output is in place when it returns.
 */
export function replaceOwnedFolder(dir: string, files: ReadonlyMap<string, string>, owner: Owner): string[] {
  const release = lockOutput(dir);
  try {
    return swapStaged(stageOwnedFolder(dir, files, owner));
  } finally {
    release();
  }
}

/** Removes a temporary file or folder of this run, if it is there; a path the system refuses (too long) was never made. */
function removeQuietly(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    // Nothing of it was written, or nothing more can be done: the failure that brought us here is what the user sees.
  }
}

/**
 * The file a path's links lead to, followed to their end, also when that file does not exist yet (a link into a
 * dotfiles folder, not yet made): what writeFileAtomic writes. Undefined for links in a loop (still a link after 40
 * hops, Linux's limit, path_resolution(7)), which the rename would replace.
 */
export function linkTarget(file: string): string | undefined {
  let target = file;
  for (let hops = 0; hops < 40 && lstatOrUndefined(target)?.isSymbolicLink(); hops++) target = resolve(dirname(target), readlinkSync(target));
  return lstatOrUndefined(target)?.isSymbolicLink() ? undefined : target;
}

/**
 * Writes one file as a whole or not at all (`option` names it as the user gave it, e.g. `--write ~/.aws/config`):
 * the text goes to a temporary file beside it, renamed over it. A link is followed, so a config kept in a dotfiles
 * repository stays a link and the file it points to is written; a folder where the file should be is refused
 * (`--write ~/.aws` for `~/.aws/config`), and so is a file this user may not write (readOnlyProblem); a failed write
 * leaves the file as it was and no temporary file behind.
 */
export function writeFileAtomic(file: string, text: string, option: string, mode?: number): void {
  const target = linkTarget(file);
  if (target === undefined) throw new OutputError(`could not write ${file} (${systemErrorReason({ code: 'ELOOP' })}); it was left as it was`);
  if (existsSync(target) && statSync(target).isDirectory()) throw new OutputError(folderNotFile(file, option));
  const readOnly = readOnlyProblem(target, file, option);
  if (readOnly) throw new OutputError(readOnly);
  const tooLong = roomBesideProblem(target, BESIDE.file);
  if (tooLong) throw new OutputError(`could not write ${file}: ${tooLong}; it was left as it was`);
  const tmp = `${target}.xstack-tmp-${process.pid}`;
  // A file replaced keeps its permissions (a 0600 file stays 0600; review s30-cli m3), unless the caller names a mode.
  const kept = mode ?? (existsSync(target) ? statSync(target).mode & 0o777 : undefined);
  try {
    writeFileSync(tmp, text, kept === undefined ? undefined : { mode: kept });
    if (kept !== undefined) chmodSync(tmp, kept);
    renameSync(tmp, target);
  } catch (error) {
    removeQuietly(tmp);
    const reason = systemErrorReason(error);
    throw reason ? new OutputError(`could not write ${file} (${reason}); ${existsSync(file) ? 'it was left as it was' : 'nothing was written'}`) : error;
  }
}
