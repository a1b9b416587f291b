/**
 * Problems found after the org file was read (a compile check, a template limit) name the line of the field they are
 * about, as the loader's do (review s39-fuzz 5 and 6): src/org/locate.ts reads the file again with positions.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fieldPosition, locatedField } from '../src/org/locate';
import { compileProblems, tempDir } from './helpers';

const TEXT = `organization: {partition: aws, region: eu-west-1}
accounts:
  src:
    id: "111111111111"
  dev: {id: "222222222222"}
repositories:
  my.repo:
    account: src
  my:
    account: src
access:
  developers:
    assumedBy:
      - account: src
        roleNames: [a]
      - {account: dev, roleNames: [b]}
`;

describe('fieldPosition', () => {
  it("a mapping's key, nested or written in flow style", () => {
    expect(fieldPosition(TEXT, 'accounts')).toEqual({ line: 2, column: 1 });
    expect(fieldPosition(TEXT, 'accounts.src.id')).toEqual({ line: 4, column: 5 });
    expect(fieldPosition(TEXT, 'accounts.dev.id')).toEqual({ line: 5, column: 9 });
  });

  it('a list item by its index, and a key inside it', () => {
    expect(fieldPosition(TEXT, 'access.developers.assumedBy')).toEqual({ line: 13, column: 5 });
    expect(fieldPosition(TEXT, 'access.developers.assumedBy[0]')).toEqual({ line: 14, column: 9 });
    expect(fieldPosition(TEXT, 'access.developers.assumedBy[1].roleNames')).toEqual({ line: 16, column: 24 });
  });

  it('a name that holds a dot is taken whole, not as a path (repositories.my.repo is not repositories.my)', () => {
    expect(fieldPosition(TEXT, 'repositories.my.repo.account')).toEqual({ line: 8, column: 5 });
    expect(fieldPosition(TEXT, 'repositories.my.account')).toEqual({ line: 10, column: 5 });
  });

  it('the deepest part written where the rest is not (a default); nothing where no part is, or the text does not read', () => {
    expect(fieldPosition(TEXT, 'accounts.src.environment')).toEqual({ line: 3, column: 3 });
    expect(fieldPosition(TEXT, 'access.developers.assumedBy[7]')).toEqual({ line: 13, column: 5 });
    expect(fieldPosition(TEXT, 'pipelines.web')).toBeUndefined();
    expect(fieldPosition('accounts: [a\n', 'accounts')).toBeUndefined();
  });

  it('locatedField: file:line:column: field, or file: field where the file cannot be read', () => {
    const file = join(tempDir('locate'), 'org.yaml');
    writeFileSync(file, TEXT);
    expect(locatedField(file, 'accounts.dev')).toBe(`${file}:5:3: accounts.dev`);
    expect(locatedField(join(file, 'absent.yaml'), 'accounts.dev')).toBe(`${join(file, 'absent.yaml')}: accounts.dev`);
  });
});

describe('compile problems at their org-file line', () => {
  const org = (pipelines: string, repositoryDescription = 'App') => `organization: {partition: aws, region: eu-west-1}
prefix: acme
accounts:
  src: {id: "111111111111", role: source}
  dev: {id: "222222222222", role: pipeline, environment: dev}
  staging: {id: "333333333333", role: pipeline, environment: staging}
  prod: {id: "444444444444", role: pipeline, environment: prod}
repositories:
  app:
    account: src
    description: "${repositoryDescription}"
pipelines:
${pipelines}`;
  const onDisk = (text: string) => {
    const file = join(tempDir('located'), 'org.yaml');
    writeFileSync(file, text);
    return file;
  };

  it('two pipelines that would share a logical id: at the second one, the first one with its own line (review s39-fuzz 6)', () => {
    const text = org(`  web: {repository: app, branches: {dev: main, staging: main, prod: main}, deploy: {type: codedeploy}}
  web-trigger-role-start: {repository: app, branches: {dev: main, staging: main, prod: main}, deploy: {type: codedeploy, ec2TagKey: Env2}}
`);
    const file = onDisk(text);
    expect(compileProblems(text, file)).toEqual([
      `${file}:14:3: pipelines.web-trigger-role-start: pipeline web (${file}:13:3: pipelines.web) and pipeline web-trigger-role-start would both name a resource WebTriggerRoleStartPipeline in the pipelines template (its names are made of theirs, letters and digits only); rename one of them`,
    ]);
  });

  it("a description naming one of the templates' resources: at the description's line", () => {
    const text = org(`  app: {repository: app, branches: {dev: main, staging: main, prod: main}, deploy: {type: codedeploy}}\n`, 'see ${RepositoryApp}');
    const file = onDisk(text);
    expect(compileProblems(text, file)).toEqual([expect.stringMatching(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:11:5: repositories\\.app\\.description: holds '\\$\\{RepositoryApp\\}'`))]);
  });
});
