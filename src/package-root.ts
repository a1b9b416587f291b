import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * xstack's own folder: the first above this module (src/ when run from source, .build/src/ when built) holding the
 * package.json of the package named xstack. Its version, and the `.venv/` `make venv` puts there, are found from it
 * whichever folder a command runs in (after `npm link`).
 */
export function packageRoot(): string | undefined {
  for (let dir = __dirname; dirname(dir) !== dir; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'xstack') return dir;
  }
  return undefined;
}
