// A manifest.json above --out: only the .xstack-output marker makes a folder above it xstack's (review s38-cli M8).
// Run against the built CLI, in a temporary folder.
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_ORG, runCli, tempDir } from './helpers';

describe('a manifest.json in a folder above --out (review s38-cli M8)', () => {
  it('a copy kept in the project folder does not make it an output folder: the compile runs', () => {
    const dir = tempDir('manifest-copy');
    cpSync(EXAMPLE_ORG, join(dir, 'example.yaml'));
    expect(runCli(['compile', 'example.yaml', '--out', 'dist'], dir).status).toBe(0);
    cpSync(join(dir, 'dist', 'example', 'manifest.json'), join(dir, 'manifest.json'));
    const run = runCli(['compile', 'example.yaml', '--out', 'dist'], dir);
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(join(dir, 'manifest.json'), 'utf8')).toBe(readFileSync(join(dir, 'dist', 'example', 'manifest.json'), 'utf8'));
  });
});
