/**
 * Replaces an output folder as a whole or not at all: everything is written
 * into a sibling temporary folder, then swapped in with two renames. A run
 * that died between the renames left `<out>.old-*` / `<out>.tmp-*` beside it;
 * the next run removes them.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export function replaceFolder(out: string, files: ReadonlyMap<string, string>): void {
  const parent = dirname(out);
  const base = basename(out);
  mkdirSync(parent, { recursive: true });
  for (const leftover of readdirSync(parent)) {
    if (leftover.startsWith(`${base}.tmp-`) || leftover.startsWith(`${base}.old-`)) rmSync(join(parent, leftover), { recursive: true, force: true });
  }
  const tmp = join(parent, `${base}.tmp-${process.pid}`);
  const old = join(parent, `${base}.old-${process.pid}`);
  try {
    for (const [path, content] of files) {
      const target = join(tmp, path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, content);
    }
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
  const hadOld = existsSync(out);
  if (hadOld) renameSync(out, old);
  renameSync(tmp, out);
  if (hadOld) rmSync(old, { recursive: true, force: true });
}
