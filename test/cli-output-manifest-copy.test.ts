// A manifest.json above --out: only the .xstack-output marker makes a folder above it xstack's (review s38-cli M8).
// Run against the built CLI, in a temporary folder.
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers';

const CLI = resolve('.build/src/cli.js');
const EXAMPLE = resolve('parameters/example.yaml');

const xstack = (args: string[], cwd: string) => spawnSync('node', [CLI, ...args], { cwd, encoding: 'utf8' });

describe('a manifest.json in a folder above --out (review s38-cli M8)', () => {
  it('a copy kept in the project folder does not make it an output folder: the compile runs', () => {
    const dir = tempDir('manifest-copy');
    cpSync(EXAMPLE, join(dir, 'example.yaml'));
    expect(xstack(['compile', 'example.yaml', '--out', 'dist'], dir).status).toBe(0);
    cpSync(join(dir, 'dist', 'example', 'manifest.json'), join(dir, 'manifest.json'));
    const run = xstack(['compile', 'example.yaml', '--out', 'dist'], dir);
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(join(dir, 'manifest.json'), 'utf8')).toBe(readFileSync(join(dir, 'dist', 'example', 'manifest.json'), 'utf8'));
  });
});
