// A repository name of digits alone, which CodeCommit takes and cfn-lint misreads as a number (review s39-fuzz 4):
// the template passes the validator the project runs, with that one check off for that resource alone.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderTemplate } from '../src/cfn/template';
import { compileOrg } from '../src/compile';
import { parseOrg } from '../src/org/load';
import { toYaml } from '../src/yaml';
import { tempDir } from './helpers';

const ORG = `organization: { partition: aws, region: eu-west-1 }
prefix: acme
accounts:
  src: { id: "111111111111", role: source }
  dev: { id: "222222222222", role: pipeline, environment: dev }
repositories:
  "123": { account: src }
  app: { account: src }
pipelines:
  numbers: { repository: "123", branches: { dev: main }, deploy: { type: codedeploy } }
  app: { repository: app, branches: { dev: main }, deploy: { type: codedeploy } }
`;

describe('a repository named by digits alone', () => {
  const compiled = compileOrg(parseOrg(ORG, 'numbers.yaml'));
  const stage = compiled.stages.find((s) => s.module === 'source-repositories')!;
  const template = renderTemplate(stage.definition);

  it("turns cfn-lint's E3034 off on its resource alone, by cfn-lint's resource metadata", () => {
    expect(template.Resources.Repository123.Metadata).toEqual({ 'cfn-lint': { config: { ignore_checks: ['E3034'] } } });
    expect(template.Resources.RepositoryApp.Metadata).toBeUndefined();
  });

  it('passes cfn-lint, as every template of the org does', () => {
    const dir = tempDir('repository-names');
    const files = compiled.stages.map((s) => {
      const file = join(dir, `${s.id}.yaml`);
      writeFileSync(file, toYaml(renderTemplate(s.definition)));
      return file;
    });
    const run = spawnSync(process.env.XSTACK_CFN_LINT ?? '.venv/bin/cfn-lint', ['--', ...files], { encoding: 'utf8' });
    expect(run.error).toBeUndefined();
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  }, 120_000);
});
