import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileOrg } from '../src/compile';
import { loadOrgFile, parseOrg } from '../src/org/load';
import { renderTemplate, type CfnTemplate } from '../src/cfn/template';
import { generateOrgYaml } from '../bench/generate-org.mjs';

export const ORG_FILES = ['parameters/example.yaml', 'parameters/govcloud.yaml'];

export const compileFile = (file: string) => compileOrg(loadOrgFile(file));

export const compileGenerated = (accounts: number, options?: { organizationId?: string }) =>
  compileOrg(parseOrg(generateOrgYaml(accounts, options), `generated-${accounts}.yaml`));

export const templatesOf = (file: string): Array<[string, CfnTemplate]> =>
  compileFile(file).stages.map((s) => [s.id, renderTemplate(s.definition)]);

export const tempDir = (name: string) => mkdtempSync(join(tmpdir(), `xstack-${name}-`));
