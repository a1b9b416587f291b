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
import { compileProblems, tempDir } from './helpers';

const ORG = `organization: { partition: aws, region: eu-west-1 }
prefix: acme
accounts:
  src: { id: "111111111111", role: source }
  dev: { id: "222222222222", role: pipeline, environment: dev }
repositories:
  "123": { account: src }
  "1_000": { account: src }
  "150.5": { account: src }
  "1e3": { account: src }
  inf: { account: src }
  app: { account: src }
pipelines:
  numbers: { repository: "123", branches: { dev: main }, deploy: { type: codedeploy } }
  underscored: { repository: "1_000", branches: { dev: main }, deploy: { type: codedeploy } }
  decimal: { repository: "150.5", branches: { dev: main }, deploy: { type: codedeploy } }
  exponent: { repository: "1e3", branches: { dev: main }, deploy: { type: codedeploy } }
  infinite: { repository: inf, branches: { dev: main }, deploy: { type: codedeploy } }
  app: { repository: app, branches: { dev: main }, deploy: { type: codedeploy } }
`;

describe('a repository whose name reads as a number (Python float(): digits, 1_000, 150.5, 1e3, inf)', () => {
  const compiled = compileOrg(parseOrg(ORG, 'numbers.yaml'));
  const stage = compiled.stages.find((s) => s.module === 'source-repositories')!;
  const template = renderTemplate(stage.definition);

  it("turns cfn-lint's E3034 off on its resource alone, by cfn-lint's resource metadata", () => {
    const ignored = Object.entries(template.Resources).filter(([, r]) => r.Metadata !== undefined);
    expect(ignored.map(([id]) => id).sort()).toEqual(['Repository1000', 'Repository123', 'Repository1505', 'Repository1e3', 'RepositoryInf']);
    for (const [, r] of ignored) expect(r.Metadata).toEqual({ 'cfn-lint': { config: { ignore_checks: ['E3034'] } } });
    expect(template.Resources.RepositoryApp.Metadata).toBeUndefined();
    // On a deployed repository that setting is an update of the resource's Metadata alone, which CloudFormation applies;
    // the template's own Metadata section, which no update may change by itself, is never written (review s39-delta m3).
    for (const s of compiled.stages) expect(Object.keys(renderTemplate(s.definition))).not.toContain('Metadata');
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

describe("text that reads as a reference to the templates' own parameters or resources (review s39-fuzz 3, s39-delta m1)", () => {
  it("is refused, naming the field; text cfn-lint reads as text (${JAVA_HOME}, ${version}) compiles", () => {
    const org = (description: string, branch: string) => ORG.replace('  app: { account: src }', `  app: { account: src, description: "${description}" }`).replace('app: { repository: app, branches: { dev: main }', `app: { repository: app, branches: { dev: "${branch}" }`);
    expect(compileProblems(org('see ${RepositoryApp}', 'x${AppPipeline}'), 'numbers.yaml')).toEqual([
      "numbers.yaml: repositories.app.description: holds '${RepositoryApp}', which names a parameter or resource of the templates: xstack writes the text as it is (never substituted), and cfn-lint refuses it outside Fn::Sub (E1029); leave '${' out of it",
      "numbers.yaml: pipelines.app.branches.dev: holds '${AppPipeline}', which names a parameter or resource of the templates: xstack writes the text as it is (never substituted), and cfn-lint refuses it outside Fn::Sub (E1029); leave '${' out of it",
    ]);
    expect(compileProblems(org('built with ${JAVA_HOME} at ${version}', 'feature-${ticket}'), 'numbers.yaml')).toEqual([]);
    // A resource's attribute (`${Resource.Attribute}`, cfn-lint's pattern takes the dot) is one too (review s41-mutations-3 TR1).
    expect(compileProblems(org('see ${RepositoryApp.Arn}', 'main'), 'numbers.yaml')).toEqual([
      "numbers.yaml: repositories.app.description: holds '${RepositoryApp.Arn}', which names a parameter or resource of the templates: xstack writes the text as it is (never substituted), and cfn-lint refuses it outside Fn::Sub (E1029); leave '${' out of it",
    ]);
  });
});

describe('a source account no repository names (review s39-fuzz 2, s39-ci)', () => {
  it('compiles without an access section (its repositories moved to another account, the account kept in the file): it gets no stack', () => {
    const kept = ORG.replace('  dev: {', '  src2: { id: "333333333333", role: source }\n  dev: {');
    const compiled = compileOrg(parseOrg(kept, 'kept.yaml'));
    expect(compiled.stages.some((s) => s.targets.some((a) => a.id === '333333333333'))).toBe(false);
  });
});
