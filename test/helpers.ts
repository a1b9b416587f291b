import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { compileOrg } from '../src/compile';
import { CompileError } from '../src/errors';
import { loadOrgFile, parseOrg } from '../src/org/load';
import { renderTemplate, type CfnTemplate } from '../src/cfn/template';
import { generateOrgYaml } from '../bench/generate-org.mjs';

export const ORG_FILES = ['parameters/example.yaml', 'parameters/govcloud.yaml'];

export const compileFile = (file: string) => compileOrg(loadOrgFile(file));

export const compileGenerated = (accounts: number, options?: { organizationId?: string }) =>
  compileOrg(parseOrg(generateOrgYaml(accounts, options), `generated-${accounts}.yaml`));

/**
 * Pipeline accounts enough for generateOrgYaml's org to have a template over CloudFormation's 51,200 bytes inline
 * (source-identity grows about 2,900 bytes an account: 61,131 at 20, under the limit at 16), so that it needs the
 * template bucket. The template bucket tests took 40 before: twice the accounts each bootstrap and rollout reach.
 */
export const LARGE_TEMPLATE_ACCOUNTS = 20;

export const templatesOf = (file: string): Array<[string, CfnTemplate]> =>
  compileFile(file).stages.map((s) => [s.id, renderTemplate(s.definition)]);

export const tempDir = (name: string) => mkdtempSync(join(tmpdir(), `xstack-${name}-`));

/** The example org file, by its absolute path (for a copy in a temporary folder). */
export const EXAMPLE_ORG = resolve('parameters/example.yaml');

/** The built CLI run as a process in `cwd` (make build first), its status and output. */
export const runCli = (args: readonly string[], cwd: string) => spawnSync('node', [resolve('.build/src/cli.js'), ...args], { cwd, encoding: 'utf8' });

/** The problems a compile of `text` fails with (its CompileError's details), or none when it compiles. */
export const compileProblems = (text: string, file: string): string[] => {
  try {
    compileOrg(parseOrg(text, file));
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(CompileError);
    return [...(error as CompileError).details];
  }
};
