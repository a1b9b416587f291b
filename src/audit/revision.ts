/**
 * The source revision of an org file's work tree, for `xstack audit` and
 * `compile --revision` only: committed dist/ never records it, or every
 * commit would make the committed output stale (see README, "For auditors").
 */
import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';

/** `<commit>` or `<commit> with uncommitted changes`; undefined outside a git work tree (or without git). */
export function sourceRevision(orgFile: string): string | undefined {
  const cwd = dirname(resolve(orgFile));
  const git = (...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const commit = git('rev-parse', 'HEAD');
    return git('status', '--porcelain', '--untracked-files=no') ? `${commit} with uncommitted changes` : commit;
  } catch {
    return undefined;
  }
}
