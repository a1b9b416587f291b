/**
 * The auditor's questions, answered from the compiled org: who can use,
 * administer or assume each resource; which statement refuses a refused
 * path; what changed since a previous compile. Expectations are derived
 * from the compiled org (its templates, its key administrators, its paths),
 * not from a list of today's resources.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { READER_ACTIONS } from '../src/iam/reader-actions';
import { compileOrg } from '../src/compile';
import { evaluate, GrantIndex } from '../src/audit/evaluate';
import { analyseAccess } from '../src/audit/paths';
import { classesOf, executionRoleOf, isReachType, orgResources, reachOfResources } from '../src/audit/reach';
import { auditModel, clauseChanges, compareModels, MODEL_FILE, readPreviousModel, sinceSections, type AuditModel } from '../src/audit/since';
import type { ResolvedStatement } from '../src/audit/grants';
import { renderTemplate } from '../src/cfn/template';
import { buildReport } from '../src/audit/report';
import { scopeSection } from '../src/audit/scope';
import { releaseControlSection } from '../src/audit/release';
import { bootstrapGrants } from '../src/audit/execution-reach';
import { recordOf } from '../src/stages/layout';
import { Names } from '../src/naming';
import { toMarkdown } from '../src/audit/render';
import { Resolver } from '../src/audit/resolve';
import { loadOrgFile, parseOrg } from '../src/org/load';
import type { Org } from '../src/org/model';
import { desiredStackSets } from '../src/deploy/desired';
import { sha256 } from '../src/hash';
import { planStages } from '../src/stages/plan';
import { CHECKED_RULES } from '../src/checks/policy-checks';
import { escapeHtml } from '../src/audit/html';
import { RULES, TEMPLATE_RULES } from '../src/checks/rules';
import { SERVICE_AUTHORIZATION_RULES } from '../src/checks/service-authorization';
import { compileFile, compileGenerated, ORG_FILES, tempDir } from './helpers';
import { ciNetworkEndpoint } from '../src/services/vpc-endpoints';
import { TYPE_CHANGE_REFUSED } from '../src/deploy/replacements';

const modelOf = (c: ReturnType<typeof compileFile>) => JSON.parse(c.files.get(MODEL_FILE)!) as AuditModel;

describe('the security checks the report lists', () => {
  const ids = CHECKED_RULES.map((r) => r.id);
  it('are every rule the compile runs: the least-privilege rules and the Service Authorization Reference checks (XS001–XS017), as the README lists them', () => {
    expect(ids).toEqual([...RULES, ...TEMPLATE_RULES, ...SERVICE_AUTHORIZATION_RULES].map((r) => r.id));
    const numbered = Array.from({ length: 17 }, (_, i) => `XS${String(i + 1).padStart(3, '0')}`);
    expect([...ids].sort()).toEqual(numbered);
    const readme = [...readFileSync('README.md', 'utf8').matchAll(/^\| (XS\d{3}) \|/gm)].map((m) => m[1]);
    expect(readme).toEqual(numbered);
  });
  for (const file of ORG_FILES) {
    it(`${file}: the summary line and the checks table name every rule, in Markdown and HTML`, () => {
      const c = compileFile(file);
      const md = c.files.get('audit/report.md')!;
      const html = c.files.get('audit/report.html')!;
      const summary = md.split('\n').find((l) => l.startsWith('- Policy rules '))!;
      expect(summary, 'summary line').toBeDefined();
      // Markdown's inline code is <code> in the HTML, never literal backticks (review s18-audit m4).
      expect(md).toContain('`xstack bootstrap`');
      expect(html).toContain('<code>xstack bootstrap</code>');
      expect(html).not.toContain('`');
      expect([...summary.matchAll(/XS\d{3}/g)].map((m) => m[0])).toEqual(ids);
      const checks = md.slice(md.indexOf('## Security checks'));
      for (const r of CHECKED_RULES) {
        const row = checks.split('\n').find((l) => l.startsWith(`| ${r.id} `) || l.startsWith(`| [${r.id}](`));
        expect(row, `${r.id} in the Markdown checks table`).toContain(`| ${r.description} | pass |`);
        expect(html, `${r.id} in the HTML checks table`).toMatch(new RegExp(`<td>(<a href="[^"]*">)?${r.id}(</a>)?</td>`));
      }
      // A rule that follows a page links its id to that page, in both forms (review s42-mutations-4 PC2).
      const pages = [...RULES, ...TEMPLATE_RULES, ...SERVICE_AUTHORIZATION_RULES].flatMap((r) => ('source' in r && typeof r.source === 'string' ? [[r.id, r.source] as const] : []));
      expect(pages.length).toBeGreaterThan(3);
      for (const [id, page] of pages) {
        expect(checks, `${id} in the Markdown checks table`).toContain(`| [${id}](${page}) |`);
        expect(html, `${id} in the HTML checks table`).toContain(`<td><a href="${escapeHtml(page)}">${id}</a></td>`);
      }
    });
  }
});

describe('who can act on each resource', () => {
  for (const file of ORG_FILES) {
    it(`${file}: every key lists each key administrator and the execution role under "administer", with the key policy statement that grants it`, () => {
      const c = compileFile(file);
      const templates = new Map(c.stages.map((s) => [s.id, renderTemplate(s.definition)]));
      const resources = orgResources(c.org, c.stages, templates, classesOf(c.access));
      const reach = reachOfResources(c.org, resources, c.access);
      const keys = resources.filter((r) => r.type === 'AWS::KMS::Key');
      expect(keys.length).toBe(c.stages.filter((s) => Object.values(templates.get(s.id)!.Resources).some((r) => r.Type === 'AWS::KMS::Key')).reduce((n, s) => n + s.targets.length, 0));
      const admins = [...c.org.keyAdministratorRoles, c.org.stackSets.executionRoleName];
      for (const key of keys) {
        for (const name of admins) {
          const arn = `arn:${c.org.partition}:iam::${key.account}:role/${name}`;
          const entry = reach.find((e) => e.resource === key && e.reach === 'administer' && e.principal === arn);
          expect(entry, `${name} administers ${key.arn}`).toBeDefined();
          expect(entry!.actions).toContain('kms:PutKeyPolicy');
          expect(entry!.grantedBy.some((g) => g.startsWith(`${key.stage}: ${key.logicalId}/`))).toBe(true);
          expect(entry!.identityOutsideModel).toBe(true);
        }
      }
      // Every resource the org creates has the execution role of its account under "administer".
      for (const r of resources) {
        expect(reach.some((e) => e.resource === r && e.reach === 'administer' && e.principal === `arn:${c.org.partition}:iam::${r.account}:role/${executionRoleOf(c.org)}`), r.arn).toBe(true);
      }
      // And each declared path's principal appears on its resource with that action (the same evaluator decided both).
      for (const result of c.access.results.filter((x) => x.allowed && x.path.principal.kind === 'aws')) {
        const p = result.path;
        const on = resources.find((r) => p.resource === r.arn || p.resource.startsWith(`${r.arn}/`));
        if (!on) continue;
        const arn = p.principal.kind === 'aws' ? p.principal.arn : '';
        expect(
          reach.some((e) => e.resource === on && e.actions.includes(result.action) && (e.principal === arn || (p.identityManagedElsewhere && e.principal.endsWith('*')))),
          `${p.purpose}: ${result.action}`,
        ).toBe(true);
      }
    });
  }

  it('the events dead-letter queues are listed: EventBridge may only send to them (for the rules of their account), the execution role administers them', () => {
    const c = compileFile('parameters/example.yaml');
    const templates = new Map(c.stages.map((s) => [s.id, renderTemplate(s.definition)]));
    const resources = orgResources(c.org, c.stages, templates, classesOf(c.access));
    const queues = resources.filter((r) => r.kind === 'queue');
    // The source account's and each pipeline account's.
    // The source account's (its forwarding rules') and each pipeline account's (its trigger rules'), each by its own name.
    expect(queues.map((q) => q.arn).sort()).toEqual(['arn:aws:sqs:eu-west-1:111111111111:acme-forward-dlq', ...['222222222222', '333333333333', '444444444444'].map((a) => `arn:aws:sqs:eu-west-1:${a}:acme-events-dlq`)]);
    const reach = reachOfResources(c.org, resources, c.access).filter((e) => queues.includes(e.resource));
    for (const q of queues) {
      const entries = reach.filter((e) => e.resource === q).map((e) => [e.reach, e.principal, e.actions.join(' ')]);
      expect(entries, q.arn).toEqual([
        ['use', 'service events.amazonaws.com', 'sqs:SendMessage'],
        ['administer', `arn:aws:iam::${q.account}:role/${executionRoleOf(c.org)}`, 'cloudformation:* (deploys the stage)'],
      ]);
    }
    const md = c.files.get('audit/report.md')!;
    expect(md).toContain('### SQS queues');
  });

  it("a Deny whose StringNotEquals a request can meet leaves the row, which says where it refuses (review s41-mutations-3 RE3)", () => {
    const c = compileFile('parameters/example.yaml');
    const templates = new Map(c.stages.map((s) => [s.id, renderTemplate(s.definition)]));
    const resources = orgResources(c.org, c.stages, templates, classesOf(c.access));
    const bucket = resources.find((r) => r.logicalId === 'ArtifactBucket')!;
    const writer = reachOfResources(c.org, resources, c.access).find((e) => e.resource === bucket && e.principal.includes(':role/') && e.actions.includes('s3:PutObject'))!;
    // Its own policy refuses a write without the canned ACL the bucket owner gets: a write with it is allowed.
    const deny: ResolvedStatement = { stage: 'x', account: bucket.account, policy: 'Writer/OwnerGetsObjects', kind: 'identity', effect: 'Deny', attachedTo: writer.principal, principals: [], actions: ['s3:PutObject'], resources: [`${bucket.arn}/*`], conditions: { StringNotEquals: { 's3:x-amz-acl': ['bucket-owner-full-control'] } } };
    const access = { ...c.access, grants: [...c.access.grants, deny], index: new GrantIndex([deny], c.access.index) };
    const row = reachOfResources(c.org, resources, access).find((e) => e.resource === bucket && e.principal === writer.principal && e.reach === writer.reach)!;
    expect(row.actions).toContain('s3:PutObject');
    expect(row.conditions).toMatch(/refused( s3:PutObject)? where [^;]*s3:x-amz-acl[^;]*\(explicit Deny x: Writer\/OwnerGetsObjects\)/);
  });

  it('the report lists a key administrator under the keys of the example and has a scope section naming what it cannot see', () => {
    const c = compileFile('parameters/example.yaml');
    const md = c.files.get('audit/report.md')!;
    const keys = md.slice(md.indexOf('### KMS keys'), md.indexOf('###', md.indexOf('### KMS keys') + 4));
    for (const admin of c.org.keyAdministratorRoles) expect(keys).toMatch(new RegExp(`\\| administer \\| arn:aws:iam::\\d{12}:role/${admin} \\| [^|]*kms:PutKeyPolicy`));
    const scope = md.slice(md.indexOf('## What this report cannot see'), md.indexOf('## Rollout graph'));
    for (const words of ['StackSet execution role', 'Key administrators', 'IAM Access Analyzer', 'policy simulator', 'SCP', 'permission sets']) expect(scope).toContain(words);
    // Routes around the templates' own trusts (review s18-audit M4): the execution role's trust, passing the service roles, the maintainers' assignment.
    expect(scope).toContain('| Who may assume the StackSet execution role (AWSCloudFormationStackSetExecutionRole) | With self-managed permissions, `xstack bootstrap` writes its trust');
    expect(scope).toContain('| Who may pass the roles services assume (acme-deploy-target, acme-pipeline, acme-event-forwarder, acme-ci-instance, acme-ci-flow-logs, acme-<pipeline>-codedeploy, acme-<pipeline>-trigger) |');
    // Attaching a profile to an instance one controls passes the role too (review s22 A4).
    expect(scope).toContain('ec2:RunInstances, or ec2:AssociateIamInstanceProfile or ReplaceIamInstanceProfileAssociation on an instance the principal already controls');
    expect(scope).toContain('https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/permission-to-pass-iam-roles.html');
    expect(scope).toContain("who is assigned the maintainers' decides who writes the protected branches");
    // Grants on the keys, the other policy types that only take away, and where what was done is recorded (review s58-audit m1, m2).
    expect(scope).toContain('| Grants on the artifact keys (KMS grants) |');
    expect(scope).toContain('`aws kms list-grants --key-id <the ArtifactKeyArn output>` in each pipeline account');
    expect(scope).toContain('| Service control and resource control policies (SCPs, RCPs), permissions boundaries and session policies set outside the org file |');
    expect(scope).toContain("| What was done (not what may be done) |");
    expect(scope).toContain('acme-access-logs-<account>-<region> under artifacts/');
  });
});

describe("the report shows the CI network's VPC endpoints and their policies", () => {
  /** The Markdown section's tables, as rows of cells (cells split on unescaped `|`). */
  const networkTables = (md: string) => {
    const section = md.slice(md.indexOf('<a id="network"></a>'), md.indexOf('<a id="checks"></a>'));
    return {
      section,
      tables: section.split('\n\n').filter((b) => b.startsWith('| ')).map((t) => t.split('\n').slice(2).map((line) => line.slice(2, -2).split(/ (?<!\\)\| /))),
    };
  };
  const endpointsOf = (c: ReturnType<typeof compileFile>) => {
    const t = renderTemplate(c.stages.find((s) => s.id === 'ci-network')!.definition);
    return Object.entries(t.Resources).filter(([, r]) => r.Type === 'AWS::EC2::VPCEndpoint') as Array<[string, { Properties: { PolicyDocument?: { Statement: Array<{ Sid: string; Action: string | string[] }> } } }]>;
  };

  it.each(ORG_FILES)('%s: every endpoint with its service and policy, each statement, and what the proof asked of it (Markdown and HTML)', (file) => {
    const c = compileFile(file);
    const md = c.files.get('audit/report.md')!;
    const html = c.files.get('audit/report.html')!;
    const { tables } = networkTables(md);
    const [endpoints, statements, checks] = tables;
    const expected = endpointsOf(c);
    expect(endpoints.map((r) => r[0])).toEqual(expected.map(([id]) => id));
    for (const [id, r] of expected) {
      const row = endpoints.find((x) => x[0] === id)!;
      const data = ciNetworkEndpoint(id)!;
      expect(row[1], id).toMatch(new RegExp(`^${data.service.replace('.', '\\.')}(-fips)?$`));
      expect(row[3], id).toBe(data.purpose);
      if (r.Properties.PolicyDocument) {
        expect(row[4], id).toMatch(/^its own: \d+ statements? \(below\)/);
        for (const st of r.Properties.PolicyDocument.Statement) {
          const line = statements.find((x) => x[0] === id && x[1] === st.Sid)!;
          expect(line, `${id}/${st.Sid}`).toBeDefined();
          expect(line[3], `${id}/${st.Sid}`).toBe([st.Action].flat().join(', '));
        }
      } else {
        // Kept at AWS's default, with the reason recorded in src/services/vpc-endpoints.ts.
        expect('none' in data.policy, id).toBe(true);
        expect(row[4], id).toBe(`AWS's default, which lets every request through: ${(data.policy as { none: string }).none}`);
        expect(statements.some((x) => x[0] === id), id).toBe(false);
      }
      expect(html, id).toContain(`<td>${id}</td>`);
    }
    // Every request the proof asked of an endpoint, each as it must be: the CI's clones, and (isolated) the CI host's own and the refused S3 requests.
    expect(checks.length).toBe(new Set(c.access.network!.checks.map((x) => `${x.endpoint} ${x.purpose} ${x.request.resource}`)).size);
    for (const row of checks) expect(row[5], row[1]).toBe(row[6].replace(/\*\*/g, ''));
    expect(checks.some((r) => r[0] === 'StsEndpoint' && r[1].startsWith('CI assumes the pull-only role of '))).toBe(true);
    expect(checks.some((r) => r[0] === 'GitCodeCommitEndpoint' && r[1].startsWith('CI pulls '))).toBe(true);
    // Another role of the signer's account names that account, which differs between the two (review s50-audit n3):
    // the CI role's for STS, the source account's reader role's for CodeCommit; and the probe is a role of it.
    const others = checks.filter((r) => r[1].startsWith('another role of account '));
    expect(new Set(others.map((r) => r[0]))).toEqual(new Set(['StsEndpoint', 'GitCodeCommitEndpoint', 'CodeCommitEndpoint']));
    for (const r of others) expect(r[1].slice('another role of account '.length, 'another role of account '.length + 12), r[1]).toBe(r[2].split(':')[4]);
    expect(new Set(others.map((r) => r[2].split(':')[4])).size).toBe(2);
  });

  it('the isolated network: the S3 endpoint refuses writes and other reads, marked refused; ssmmessages keeps AWS\'s default with its reason', () => {
    const c = compileFile('parameters/govcloud.yaml');
    const md = c.files.get('audit/report.md')!;
    const { tables } = networkTables(md);
    const refused = tables[2].filter((r) => r[5] === 'refused' && r[0] === 'S3GatewayEndpoint').map((r) => [r[0], r[1], r[4], r[6]]);
    expect(refused).toEqual([
      ['S3GatewayEndpoint', 'nothing in the CI network writes to any S3 bucket', 's3:PutObject', '**refused**'],
      ['S3GatewayEndpoint', 'nothing in the CI network reads any other S3 object', 's3:GetObject', '**refused**'],
      ['S3GatewayEndpoint', "nothing in the CI network reads ECR's layer bucket with its own credentials", 's3:GetObject', '**refused**'],
    ]);
    // What the CI host sends, signed by a role of an account outside the org, is refused by the endpoint too.
    const outsider = tables[2].filter((r) => r[1].startsWith('a role of an account outside the org may not do what ') && !/CodeCommit|Sts/.test(r[0]));
    expect(outsider.map((r) => r[0]).sort()).toEqual(['EcrApiEndpoint', 'EcrDockerEndpoint', 'SsmEndpoint']);
    for (const r of outsider) expect([r[2], r[5], r[6]]).toEqual(['arn:aws-us-gov:iam::999999999999:role/someone-elses', 'refused', '**refused**']);
    expect(tables[0].find((r) => r[0] === 'SsmMessagesEndpoint')![4]).toContain('AWS documents no endpoint policy for ssmmessages');
    expect(md).toContain("- 8 VPC endpoints in the CI network, 7 with a policy of their own, 1 with AWS's default (a reason recorded for each);");
    // The HTML marks the refused rows as it does the access matrix's.
    expect((c.files.get('audit/report.html')!.match(/<tr class="refused"><td>S3GatewayEndpoint<\/td>/g) ?? []).length).toBe(3);
  });

  it('an org without a CI network says there are no endpoint policies', () => {
    const c = compileGenerated(3);
    const { section, tables } = networkTables(c.files.get('audit/report.md')!);
    expect(tables).toEqual([]);
    expect(section).toContain('xstack makes no VPC endpoints, so there are no endpoint policies to show');
    expect(c.files.get('audit/report.md')).toContain('- No CI network (access.ci.network): no VPC endpoints, so no endpoint policies.');
  });
});

describe("the scope section names each kind of outside decision the org has (review s50-audit M1, M2, M4)", () => {
  const rowsOf = (org: Org) => scopeSection(org, []).blocks.flatMap((b) => (b.kind === 'table' ? b.rows.map((r) => r.map((c) => (typeof c === 'string' ? c : c.text))) : []));
  const row = (org: Org, start: string) => rowsOf(org).find((r) => r[0].startsWith(start));

  it('where developers come from: Identity Center for the example, the federated role for govcloud, an account\'s own roles for named ones; none without developers', () => {
    const example = loadOrgFile('parameters/example.yaml');
    const gov = loadOrgFile('parameters/govcloud.yaml');
    expect(row(example, 'IAM Identity Center permission sets')?.[1]).toContain('from roles that permission sets provision (AWSReservedSSO_Developer_* in tools');
    expect(row(example, 'Federated roles')).toBeUndefined();
    expect(row(gov, 'IAM Identity Center permission sets')).toBeUndefined();
    expect(row(gov, 'Federated roles (SAML or OIDC)')?.[1]).toContain("reach the developer role from roles an identity provider's users assume (developer-federated in dev)");
    const named = parseOrg(readFileSync('parameters/example.yaml', 'utf8').replace('roleNames: ["AWSReservedSSO_Developer_*"]\n        sso: true\n', 'roleNames: ["ci-developer"]\n'), 'example.yaml');
    expect(row(named, 'Roles of the people accounts')?.[1]).toContain('from roles of their accounts (ci-developer in tools)');
    expect(rowsOf({ ...example, access: { ...example.access, developers: undefined } }).some((r) => /Identity Center|Federated|people accounts/.test(r[0]))).toBe(false);
  });

  it("bootstrap's access role, which can rewrite the execution role, and the setup template outside the proof; the reader role with service-managed StackSets", () => {
    const example = loadOrgFile('parameters/example.yaml');
    const access = row(example, "Who may use bootstrap's access role");
    expect(access?.[0]).toContain("acme-xstack-access, which the setup template setup/bootstrap-access.yaml beside the templates, in the compile's dist/<org>/ folder, makes");
    expect(access?.[1]).toContain("whoever may assume it can do the same at any time, between bootstraps: make the execution role trust anyone and give it any policy");
    expect(access?.[1]).toContain('outside the paths and the cross-account grants this report proves');
    const managed = { ...example, stackSets: { ...example.stackSets, permissionModel: 'SERVICE_MANAGED' as const } };
    expect(row(managed, "Who may use bootstrap's access role")).toBeUndefined();
    expect(row(managed, "The setup template's reader role (setup/reader-role.yaml in the compile's dist/<org>/ folder: acme-xstack-reader)")?.[1]).toContain('only reads');
    const md = compileFile('parameters/example.yaml').files.get('audit/report.md')!;
    expect(md).toMatch(/\n- \d+ resource-policy statements of the stages' templates grant to principals outside their own account; each matches a declared path \(the setup template in the compile's dist\/<org>\/setup\/, deployed by hand, is outside the proof/);
  });

  it("MFA and session length: rest on where the first session is made, said for each kind of role source; the pipelines of an account share its pipeline role (review s50-audit m6, m9)", () => {
    expect(row(loadOrgFile('parameters/example.yaml'), 'MFA and session length')?.[1]).toContain("MFA is enforced, or not, where the first session is made: IAM Identity Center's sign-in. A chained session lasts one hour at most");
    expect(row(loadOrgFile('parameters/govcloud.yaml'), 'MFA and session length')?.[1]).toContain("where the first session is made: the identity provider's sign-in.");
    const md = compileFile('parameters/example.yaml').files.get('audit/report.md')!;
    expect(md).toContain('The pipelines of one pipeline account share one pipeline role (acme-pipeline), to which each pipeline\'s policy is attached');
  });

  it('the key administrators row says when the org names none, and the account administrators row names every resource policy a principal could rewrite (review s50-audit n1, n5)', () => {
    expect(row(loadOrgFile('parameters/govcloud.yaml'), "Key administrators' own policies (none named)")?.[1]).toMatch(/^No role of the org file administers the artifact keys: the key policy names the StackSet execution role \(\S+\) alone/);
    expect(row(loadOrgFile('parameters/example.yaml'), "Key administrators' own policies (platform-admin)")?.[1]).toMatch(/^The key policy lets these roles administer/);
    expect(row(loadOrgFile('parameters/example.yaml'), 'Account administrators with IAM rights')?.[1]).toContain('s3:PutBucketPolicy, events:PutPermission or events:RemovePermission (the bus policy), sqs:SetQueueAttributes (a queue\'s policy) or codecommit:*');
  });

  it("the access matrix says what its samples stand for, the summary how to tie the folder to a commit, and the execution role's s3:* what an organization-wide bucket policy gives it (review s50-audit m4, n6, m2)", () => {
    const md = compileFile('parameters/example.yaml').files.get('audit/report.md')!;
    expect(md).toContain('each `*` of a name pattern written `x0` (AWSReservedSSO_Developer_x0 stands for any role of that permission set), `someone-elses`');
    expect(md).toContain('999999999999 for an account outside the org; an id CloudFormation gives a resource when it creates it is written `{stage/LogicalId}`');
    expect(md).toContain('to tie this folder to a commit, check that commit out, run make compile, and compare the SHA-256 of the two manifest.json files');
    expect(md).toContain("a bucket policy that admits principals by aws:PrincipalOrgID, as central log and artifact buckets often do, lets every execution role of the org do whatever it grants the organization, the role's s3:* adding no limit of its own");
    // The execution role's documents are bootstrap's, in each account: named, with how to read them (review s50-audit m5).
    expect(md).toContain('bootstrap writes them as the managed policies acme-stackset-execution-1, acme-stackset-execution-2, … attached to the role');
    expect(md).toContain('`aws iam list-attached-role-policies --role-name AWSCloudFormationStackSetExecutionRole` and `aws iam get-policy-version`');
  });

  it('the page marks an undecided row as it marks a refused one, not as allowed (review s50-audit n2)', () => {
    const html = compileFile('parameters/example.yaml').files.get('audit/report.html')!;
    const undecided = [...html.matchAll(/<tr class="undecided">(.*?)<\/tr>/g)].map((m) => m[1]);
    expect(undecided.length).toBe(3);
    for (const row of undecided) expect(row).toContain('<td class="tight">undecided</td>');
    expect(html).toContain('tr.undecided td{background:');
  });

  it('the linters are not said to pass for an org the compile did not lint', () => {
    const md = compileFile('parameters/example.yaml').files.get('audit/report.md')!;
    expect(md).toContain("| cfn-lint | CloudFormation linter over every template | not run by the compile: make test runs it over xstack's own example orgs (zero errors and warnings there); for this org, run 'cfn-lint --regions eu-west-1 -- templates/*.yaml' in its dist folder |");
    expect(md).toContain("| checkov | policy-as-code scanner over every template | not run by the compile: make test runs it over xstack's own example orgs (zero failed checks there)");
    expect(md).not.toContain('run by make test (zero');
  });
});

describe('who can act, with service-managed StackSets', () => {
  it('every resource is administered by the stacksets-exec-* role StackSets creates in its account', () => {
    const text = readFileSync('parameters/example.yaml', 'utf8')
      .replace('permissionModel: SELF_MANAGED', 'permissionModel: SERVICE_MANAGED')
      .replace(/^ {2}(administrationRoleName|executionRoleName): .*\n/gm, '')
      .replace(/^(    id: "\d{12}"\n)/gm, '$1    organizationalUnit: ou-ab12-cdef3456\n');
    const file = join(tempDir('service-managed'), 'example.yaml');
    writeFileSync(file, text);
    const c = compileOrg(loadOrgFile(file));
    expect(executionRoleOf(c.org)).toBe('stacksets-exec-*');
    const md = c.files.get('audit/report.md')!;
    const templates = new Map(c.stages.map((s) => [s.id, renderTemplate(s.definition)]));
    for (const r of orgResources(c.org, c.stages, templates, new Map())) {
      expect(md, r.arn).toContain(`| ${r.arn} (${r.stage}: ${r.logicalId}) | administer | arn:aws:iam::${r.account}:role/stacksets-exec-* |`);
    }
    // No undecided path (StackSets' own role administers the key, its policy not bootstrap's): the summary's sentence has none (review s36-diff m1).
    expect(c.access.paths.some((p) => p.outsideDecides)).toBe(false);
    expect(md).toMatch(/\n- \d+ access paths: \d+ the org needs, each allowed, and \d+ that must be refused, each refused; \d+ requests proved \(\d+ allowed: .*; \d+ refused, each as it must be\)\.\n/);
  });
});

describe('refused paths cite what refuses them', () => {
  it('a push to a protected branch cites the Deny, never the Allow it overrides, in the analysis and in the report', () => {
    const c = compileFile('parameters/example.yaml');
    const refused = c.access.results.filter((r) => r.path.denied && r.path.purpose.startsWith('developers may not change'));
    expect(refused.length).toBeGreaterThan(0);
    const md = c.files.get('audit/report.md')!;
    for (const r of refused) {
      expect(r.refusedBy && 'deny' in r.refusedBy, r.path.purpose).toBe(true);
      const deny = (r.refusedBy as { deny: { stage: string; policy: string; effect: string } }).deny;
      expect(deny.effect).toBe('Deny');
      const row = md.split('\n').find((l) => l.startsWith(`| ${r.path.purpose} |`))!;
      expect(row).toContain(`| **refused** | denied by ${deny.stage}: ${deny.policy} (explicit Deny) |`);
      for (const allow of r.grantedBy) expect(row).not.toContain(allow.policy);
    }
  });

  it('an environment\'s source role, refused another environment\'s artifacts and key, is refused for want of any Allow, which the report says', () => {
    const c = compileFile('parameters/example.yaml');
    const isolation = c.access.results.filter((r) => r.path.denied && /^the source role of .* may not (write|use) /.test(r.path.purpose));
    expect(isolation.length).toBeGreaterThan(0);
    const md = c.files.get('audit/report.md')!;
    for (const r of isolation) {
      expect(r.allowed).toBe(false);
      expect(r.refusedBy, r.path.purpose).toEqual({ missing: 'both' });
      expect(md.split('\n').find((l) => l.startsWith(`| ${r.path.purpose} |`))).toContain('| **refused** | no Allow on either side |');
    }
  });

  it('a refusal without a Deny names the side that has no Allow', () => {
    const c = compileFile('parameters/example.yaml');
    const index = new GrantIndex(c.access.grants);
    const path = c.access.paths.find((p) => p.purpose.startsWith('the source role writes the source artifact'))!;
    const principal = path.principal;
    const ask = (action: string, resource = path.resource, resourceAccount = path.resourceAccount) => evaluate(index, { principal, action, resource, resourceAccount, context: path.context }, c.org.organizationId);
    // Cross-account, granted on neither side.
    expect(ask('s3:DeleteObject').refusedBy).toEqual({ missing: 'both' });
    // The source role's own policy does not reach a bucket of an account outside the org; nothing there admits it either.
    const foreign = path.resource.replace(/\d{12}/, '999999999999');
    expect(ask('s3:PutObject', foreign, '999999999999').refusedBy).toEqual({ missing: 'both' });
    // Granted by the identity side only: a bucket policy statement of the same bucket removed.
    const stages = planStages(c.org);
    const policy = (stages.find((s) => s.id === 'pipeline-foundation')!.definition.resources.ArtifactBucketPolicy as unknown as { Properties: { PolicyDocument: { Statement: Array<{ Sid: string }> } } }).Properties.PolicyDocument;
    policy.Statement = policy.Statement.filter((s) => s.Sid !== 'SourceRolesWriteArtifacts');
    const broken = analyseAccess(c.org, stages);
    const write = broken.results.find((r) => r.path.purpose === path.purpose && r.action === 's3:PutObject')!;
    expect(write.allowed).toBe(false);
    expect(write.refusedBy).toEqual({ missing: 'resource' });
  });
});

/**
 * The paths of a new environment's account that no environment had before: a
 * path of the source account the same in every environment (the source role
 * reads the repository) is not new.
 */
function newPaths(before: ReturnType<typeof compileFile>, after: ReturnType<typeof compileFile>, account: string) {
  // Each path as the account it is in sees it: a path of an account class once per member, its token written as the member's id.
  const each = (c: typeof after) =>
    c.access.paths.flatMap((p) => {
      const text = JSON.stringify([p.principal, p.resource, p.actions, p.context ?? {}]);
      return p.accounts ? p.accounts.map((m) => ({ p, key: text.replaceAll(p.group!.account, m), account: m })) : [{ p, key: text, account: p.group?.account }];
    });
  const old = new Set(each(before).map((x) => x.key));
  // A pipeline's paths in that account, and the pairs of environments that now include it (isolation).
  const concerns = (x: ReturnType<typeof each>[number]) => x.account === account || (!x.p.group && JSON.stringify([x.p.principal, x.p.resource]).includes(account));
  return each(after).filter((x) => concerns(x) && !old.has(x.key));
}

/** The example org with one more environment: a qa pipeline account that runs web-app from develop. */
function exampleWithQa(): string {
  const text = readFileSync('parameters/example.yaml', 'utf8');
  const withAccount = text.replace('  tools:\n', '  qa:\n    id: "666666666666"\n    role: pipeline\n    environment: qa\n  tools:\n');
  const withBranch = withAccount.replace('      staging: release\n', '      staging: release\n      qa: develop\n');
  expect(withBranch).not.toBe(text);
  const file = join(tempDir('since'), 'example.yaml');
  writeFileSync(file, withBranch);
  return file;
}

describe('changes since a previous compile', () => {
  it('one environment added: exactly its resources, grants, trust entries and paths are added; nothing removed or replaced', () => {
    const before = compileFile('parameters/example.yaml');
    const after = compileOrg(loadOrgFile(exampleWithQa()));
    const qa = after.org.accounts.find((a) => a.name === 'qa')!.id;
    const changes = compareModels(modelOf(before), modelOf(after));

    const templates = new Map(after.stages.map((s) => [s.id, renderTemplate(s.definition)]));
    // qa's own account, and what the source account makes for it: its source role and that role's grants.
    const qaResources = orgResources(after.org, after.stages, templates, new Map()).filter((r) => r.account === qa || r.arn.includes(qa));
    expect(qaResources.some((r) => r.account !== qa && r.arn.endsWith(`:role/acme-source-${qa}`))).toBe(true);
    expect(qaResources.length).toBeGreaterThan(5);
    // Every other resource of every template (pipelines, rules, policies) too, by logical id and account: read from
    // each compile's templates, those the new compile has and the old one has not (review s18-audit M3).
    const otherResources = (c: typeof after) => {
      const ts = new Map(c.stages.map((s) => [s.id, renderTemplate(s.definition)]));
      const resolver = new Resolver(c.org, c.stages, ts);
      return c.stages.flatMap((s) =>
        Object.entries(ts.get(s.id)!.Resources)
          .filter(([, r]) => !isReachType(r.Type))
          .flatMap(([id, r]) => resolver.accountsWith(s.id, id).map((account) => `${id} (${r.Type}) @ ${account}`)),
      );
    };
    const others = otherResources(after).filter((x) => !otherResources(before).includes(x));
    expect(others.some((x) => x.startsWith('WebAppPipeline (AWS::CodePipeline::Pipeline) @ 666666666666'))).toBe(true);
    expect(changes.resources.map((r) => r.change)).toEqual([...qaResources, ...others].map(() => 'added'));
    expect(changes.resources.map((r) => r.resource).sort()).toEqual([...qaResources.map((r) => `${r.logicalId} (${r.type}) ${r.arn} @ ${r.account}`), ...others].sort());

    for (const side of [changes.grants, changes.trust]) {
      expect(side.removed).toEqual([]);
      for (const line of side.added) expect(line, line).toContain(qa);
    }
    // Every statement deployed in the qa account is among the added lines, on its side.
    for (const g of after.access.grants.filter((x) => x.account === qa)) {
      const added = g.kind === 'trust' ? changes.trust.added : changes.grants.added;
      expect(added.some((l) => l.startsWith(`${g.stage}: ${g.policy} | ${g.effect} `)), `${g.stage} ${g.policy}`).toBe(true);
    }
    // The source role now trusts qa's pipeline role, and the forwarder may put events on qa's bus: added in the source account's statements.
    expect(changes.trust.added.some((l) => l.startsWith('source-identity') && l.includes(`arn:aws:iam::${qa}:role/acme-pipeline`))).toBe(true);

    const qaPaths = newPaths(before, after, qa);
    expect(qaPaths.length).toBeGreaterThan(5);
    expect(changes.paths.added.length).toBe(qaPaths.length);
    for (const line of changes.paths.added) expect(line).toContain(qa);
    // Read for qa's account, a pipeline path names its environment, not "each environment" (review s18-audit m3).
    expect(changes.paths.added.some((l) => l.startsWith('the pipeline role assumes the source role (web-app, qa) |'))).toBe(true);
    for (const line of changes.paths.added) expect(line).not.toContain('each environment');
    expect(changes.paths.removed).toEqual([]);
    expect(changes.paths.newlyAllowed).toEqual([]);
    expect(changes.paths.newlyRefused).toEqual([]);

    // Deterministic: the same comparison twice is the same text.
    expect(JSON.stringify(compareModels(modelOf(before), modelOf(after)))).toBe(JSON.stringify(changes));
    // Nothing changed against itself.
    const none = compareModels(modelOf(after), modelOf(after));
    expect([none.resources, none.grants.added, none.grants.removed, none.trust.added, none.paths.added, none.paths.removed]).toEqual([[], [], [], [], [], []]);
  });

  it('a model written before "undecided" (its result "allowed") reads as the path newly undecided, and the summary counts it', () => {
    const c = compileFile('parameters/example.yaml');
    const now = modelOf(c);
    const undecided = now.paths.filter((p) => p.value.result === 'undecided');
    expect(undecided).toHaveLength(1);
    expect(undecided[0].value.path).toMatch(/^the key policy also admits AWSCloudFormationStackSetExecutionRole to kms:CancelKeyDeletion, /);
    const before: AuditModel = { ...now, paths: now.paths.map((p) => (p.value.result === 'undecided' ? { ...p, value: { ...p.value, result: 'allowed' as const } } : p)) };
    const changes = compareModels(before, now);
    expect(changes.paths.newlyUndecided).toHaveLength(3);
    expect([changes.paths.newlyAllowed, changes.paths.newlyRefused, changes.paths.added, changes.paths.removed]).toEqual([[], [], [], []]);
    expect(JSON.stringify(sinceSections('before', before, now))).toContain('0 newly allowed, 0 newly refused, 3 newly undecided.');
    // Such a path gone (here: named otherwise before) is asked again of this compile, as undecided (review s37-diff m5).
    const renamed: AuditModel = { ...now, paths: [...now.paths, ...undecided.map((p) => ({ ...p, value: { ...p.value, path: `an earlier name: ${p.value.path}` } }))] };
    const again = JSON.stringify(sinceSections('before', renamed, now, { access: c.access, organizationId: c.org.organizationId }));
    expect(again).toContain("→ was undecided; this compile's resource side admits it still (pipeline-foundation: ArtifactKey/AdministerKey), its principal's own policy deciding");
  });

  it("one environment added: the execution role's policy of its account is added line by line, every other account's unchanged (review s30-audit m1)", async () => {
    const { compiledTemplates, executionPolicyOf, forAccount } = await import('../src/deploy/execution-policy');
    const before = compileFile('parameters/example.yaml');
    const after = compileOrg(loadOrgFile(exampleWithQa()));
    const qa = after.org.accounts.find((a) => a.name === 'qa')!.id;
    const changes = compareModels(modelOf(before), modelOf(after));
    if (typeof changes.execution !== 'object') throw new Error(`execution not compared: ${changes.execution}`);
    expect(changes.execution.removed).toEqual([]);
    const union = executionPolicyOf(after.org, compiledTemplates(after.stages, (s) => renderTemplate(s.definition))).statements;
    const own = forAccount(union, qa);
    // Exactly qa's policy, a line per statement and resource, as bootstrap writes it there.
    expect(changes.execution.added.length).toBe(own.reduce((n, s) => n + 1 + s.Resource.length, 0));
    for (const s of own) {
      expect(changes.execution.added).toContain(`in ${qa}: bootstrap: ${s.Sid} | ${s.Effect} | ${s.Action.join(', ')}`);
      for (const r of s.Resource) expect(changes.execution.added.some((l) => l.startsWith(`in ${qa}: bootstrap: ${s.Sid} | ${s.Effect} | on ${r}`)), `${s.Sid} ${r}`).toBe(true);
    }
    const sections = sinceSections('before', modelOf(before), modelOf(after));
    expect(JSON.stringify(sections[0].blocks)).toContain(`The StackSet execution role's policy, as \`xstack bootstrap\` writes it in each account for this compile's templates: ${changes.execution.added.length} statement lines added (run \`xstack bootstrap\` before the deploy that needs them), 0 removed.`);
    // Taken away again, the lines are removed, and go with the bootstrap after the deploy.
    expect(JSON.stringify(sinceSections('after', modelOf(after), modelOf(before))[0].blocks)).toContain(`0 statement lines added, ${changes.execution.added.length} removed (the bootstrap after the deploy drops them`);
    expect(sections.find((x) => x.id === 'since-execution')).toBeDefined();
    // A model written before it was recorded is not compared, and says so; against itself nothing changed.
    const { execution: _, ...older } = modelOf(before);
    expect(compareModels(older, modelOf(after)).execution).toBe('not recorded before');
    expect(compareModels(modelOf(after), modelOf(after)).execution).toEqual({ added: [], removed: [] });
  });

  it('a changed bucket name replaces every artifact bucket, and a changed logical id of a key is a replacement, both flagged', () => {
    const c = compileFile('parameters/example.yaml');
    const stages = planStages(c.org);
    const bucket = stages.find((s) => s.id === 'pipeline-foundation')!.definition.resources.ArtifactBucket as unknown as { Properties: { BucketName: { 'Fn::Sub': string } } };
    bucket.Properties.BucketName = { 'Fn::Sub': 'acme-artifacts-${AWS::AccountId}-${AWS::Region}-v2' };
    const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
    const access = analyseAccess(c.org, stages, templates);
    const after = auditModel(c.org.file, { orgFileSha256: null }, orgResources(c.org, stages, templates, new Map()), access);
    const changes = compareModels(modelOf(c), after);
    const pipelineAccounts = c.org.accounts.filter((a) => a.role === 'pipeline');
    const replaced = changes.resources.filter((r) => r.change === 'REPLACED ⚠');
    expect(replaced.length).toBe(pipelineAccounts.length);
    for (const r of replaced) expect(r.detail).toMatch(/^BucketName acme-artifacts-\d{12}-eu-west-1 → acme-artifacts-\d{12}-eu-west-1-v2 forces replacement$/);

    const renamed = structuredClone(modelOf(c));
    const key = renamed.resources.find((r) => r.value.type === 'AWS::KMS::Key')!;
    key.value.logicalId = 'ArtifactKeyV2';
    const keyChanges = compareModels(modelOf(c), renamed).resources;
    expect(keyChanges.length).toBe(renamed.accountSets[key.accounts].length);
    for (const r of keyChanges) {
      expect(r.change).toBe('REPLACED ⚠');
      expect(r.detail).toMatch(/^logical id ArtifactKey → ArtifactKeyV2/);
    }
  });

  it("the CI network's endpoint policies are in the model: a widened policy is a changed grant line and a write newly let through; a policy taken away is AWS's default line", () => {
    const c = compileFile('parameters/govcloud.yaml');
    const ciAccount = c.org.accounts.find((a) => a.name === c.org.access.ci!.account)!.id;
    const before = modelOf(c);
    const s3Lines = (m: AuditModel) => m.grants.map((g) => g.value).filter((v) => v.startsWith('ci-network: S3GatewayEndpoint'));
    expect(s3Lines(before)).toEqual(['ci-network: S3GatewayEndpoint/EcrImageLayers | Allow * | s3:GetObject | on arn:aws-us-gov:s3:::prod-us-gov-west-1-starport-layer-bucket/* | when StringEquals s3:authType = REST-QUERY-STRING']);
    // ssmmessages takes no policy (src/services/vpc-endpoints.ts): AWS's default, as one line.
    expect(before.grants.map((g) => g.value)).toContain("ci-network: SsmMessagesEndpoint (AWS's default endpoint policy) | Allow * | * | on *");
    const write = (m: AuditModel) => m.paths.find((p) => p.value.path.startsWith('through S3GatewayEndpoint: nothing in the CI network writes'))!;
    expect(write(before).value.result).toBe('refused');
    expect(before.accountSets[write(before).accounts]).toEqual([ciAccount]);

    const recompiled = (change: (endpoint: { Properties: Record<string, unknown> }) => void) => {
      const stages = planStages(c.org);
      change(stages.find((s) => s.id === 'ci-network')!.definition.resources.S3GatewayEndpoint as unknown as { Properties: Record<string, unknown> });
      const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
      return auditModel(c.org.file, { orgFileSha256: null }, orgResources(c.org, stages, templates, new Map()), analyseAccess(c.org, stages, templates));
    };
    // Any S3 action on any bucket, as a careless edit would write it.
    const widened = compareModels(before, recompiled((e) => {
      const [statement] = (e.Properties.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement;
      Object.assign(statement, { Action: 's3:*', Resource: '*' });
      delete statement.Condition;
    }));
    expect(widened.grants.removed).toEqual(s3Lines(before));
    expect(widened.grants.added).toEqual(['ci-network: S3GatewayEndpoint/EcrImageLayers | Allow * | s3:* | on *']);
    expect(widened.paths.newlyAllowed.some((p) => p.startsWith('through S3GatewayEndpoint: nothing in the CI network writes to any S3 bucket | * | must be refused | s3:PutObject'))).toBe(true);
    expect(widened.paths.newlyRefused).toEqual([]);

    const taken = compareModels(before, recompiled((e) => delete e.Properties.PolicyDocument));
    expect(taken.grants.removed).toEqual(s3Lines(before));
    expect(taken.grants.added).toEqual(["ci-network: S3GatewayEndpoint (AWS's default endpoint policy) | Allow * | * | on *"]);
  });

  it('xstack audit --since writes the section, records the org file hash and the git revision; a folder without a model is a clear error', () => {
    const out = tempDir('audit-since');
    const cli = (...args: string[]) => execFileSync('node', ['.build/src/cli.js', 'audit', ...args], { encoding: 'utf8', stdio: 'pipe' });
    cli(exampleWithQa(), '--since', 'dist/example/manifest.json', '--out', out);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain('## Changes since dist/example/manifest.json');
    expect(md).toMatch(/- \d+ resources added, 0 removed, 0 replaced or renamed\./);
    expect(md).toContain('| added | pipeline-foundation | ArtifactKey (AWS::KMS::Key) arn:aws:kms:eu-west-1:666666666666:key/{pipeline-foundation/ArtifactKey} @ 666666666666 |');
    // The example in this work tree: its file's hash, and the commit it is at. In a folder of its own: the bundle of
    // another org file of the same name (the copy above) is refused, not replaced.
    const current = tempDir('audit-current');
    cli('parameters/example.yaml', '--out', current);
    const here = readFileSync(join(current, 'report.md'), 'utf8');
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    expect(here).toContain(`org file SHA-256 ${sha256(readFileSync('parameters/example.yaml', 'utf8'))}; revision ${commit}`);
    expect(JSON.parse(readFileSync(join(current, 'audit.json'), 'utf8')).source.revision).toMatch(new RegExp(`^${commit}`));
    // Committed dist/ records the hashes of its inputs, the org file and its layout file, and never a revision.
    const manifest = JSON.parse(readFileSync('dist/example/manifest.json', 'utf8'));
    expect(manifest.source).toEqual({
      orgFile: 'parameters/example.yaml',
      orgFileSha256: sha256(readFileSync('parameters/example.yaml', 'utf8')),
      layoutFile: 'parameters/example.layout.json',
      layoutSha256: sha256(readFileSync('parameters/example.layout.json', 'utf8')),
    });
    // A folder that holds no model (the audit's own output holds one: the bundle, which --since takes).
    expect(() => cli('parameters/example.yaml', '--since', tempDir('no-model'), '--out', tempDir('audit-none'))).toThrow(/audit\/audit\.json not found; expected a dist\/<org>\/ folder/);
  });

  it("audit refuses to replace its folder while a file in it was edited (an auditor's note in report.md), as compile refuses for dist/, and replaces it once restored (review s46-cli m3)", () => {
    const out = tempDir('audit-edited');
    const run = (...args: string[]) => spawnSync('node', ['.build/src/cli.js', 'audit', ...args], { encoding: 'utf8' });
    expect(run('parameters/example.yaml', '--out', out).status).toBe(0);
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    const marker = readFileSync(join(out, '.xstack-output'), 'utf8');
    // Each file's SHA-256 is recorded beside the marker's words (no manifest in this folder).
    for (const file of ['audit.json', 'report.html', 'report.md', 'rollout.svg']) expect(marker).toContain(`${file} SHA-256: ${sha256(readFileSync(join(out, file), 'utf8'))}\n`);
    writeFileSync(join(out, 'report.md'), `${report}\nAuditor's note: checked with the owners.\n`);
    const again = run('parameters/example.yaml', '--out', out);
    expect([again.status, again.stderr]).toEqual([1, expect.stringMatching(new RegExp(`holds files changed since xstack wrote them \\(${join(out, 'report.md').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)`))]);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain("Auditor's note");
    writeFileSync(join(out, 'report.md'), report);
    expect(run('parameters/example.yaml', '--out', out).status).toBe(0);
  });

  it("audit --since another org's compile (another prefix or partition) is refused, naming both values; the same org from a renamed file is compared with a note at the top of the section; an org file given for the compile is told what is expected (review s38-cli M5, m12)", () => {
    const run = (...args: string[]) => spawnSync('node', ['.build/src/cli.js', 'audit', ...args], { encoding: 'utf8' });
    const other = run('parameters/example.yaml', '--since', 'dist/govcloud', '--out', tempDir('since-other'));
    expect([other.status, other.stderr]).toEqual([
      1,
      "xstack: --since dist/govcloud: that compile is of parameters/govcloud.yaml, prefix 'gov', and this one of parameters/example.yaml, prefix 'acme': another org, whose every name differs, so its differences would read as changes; " +
        'give the dist/<org>/ folder of an earlier compile of parameters/example.yaml (e.g. compile an earlier revision of it: git worktree add ../previous <revision>, then xstack compile there)\n',
    ]);
    // The prefix alike, the partition not.
    const gov = join(tempDir('since-partition'), 'govcloud.yaml');
    writeFileSync(gov, readFileSync('parameters/govcloud.yaml', 'utf8').replace(/^prefix: gov$/m, 'prefix: acme'));
    const partition = run(gov, '--since', 'dist/example', '--out', tempDir('since-partition-out'));
    expect([partition.status, partition.stderr]).toEqual([1, expect.stringMatching(/^xstack: --since dist\/example: that compile is of parameters\/example\.yaml, organization\.partition 'aws', and this one of govcloud\.yaml, organization\.partition 'aws-us-gov': another org/)]);
    // The same org, its file renamed and its organization id changed: compared, and said first.
    const renamed = join(tempDir('since-renamed'), 'acme.yaml');
    writeFileSync(renamed, readFileSync('parameters/example.yaml', 'utf8').replace('id: o-a1b2c3d4e5', 'id: o-f6g7h8i9j0'));
    const out = tempDir('since-renamed-out');
    const same = run(renamed, '--since', 'dist/example', '--out', out);
    expect(same.status, same.stderr).toBe(0);
    const notes = [
      'the previous compile is of parameters/example.yaml, this one of acme.yaml: read as the same org (the same prefix and partition) with its file renamed or moved.',
      'organization.id was o-a1b2c3d4e5 and is o-f6g7h8i9j0: the org-scoped conditions that name it change with it.',
    ];
    expect(same.stderr).toBe(notes.map((n) => `xstack: note: --since dist/example: ${n}\n`).join(''));
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain(`## Changes since dist/example\n\n${notes.map((n) => `Note: ${n}\n\n`).join('')}Compared with the previous compile's audit model`);
    const orgFile = run('parameters/example.yaml', '--since', 'parameters/example.yaml', '--out', tempDir('since-org-file'));
    expect([orgFile.status, orgFile.stderr]).toEqual([
      1,
      'xstack: --since parameters/example.yaml is a file but not an xstack manifest.json; expected a dist/<org>/ folder of an earlier compile or its manifest.json (an org file\'s compile, e.g. --since dist/example/)\n',
    ]);
  });

  it('refuses a model an earlier xstack wrote with the proof tokens in it, saying what to do', () => {
    const dir = tempDir('since-tokens');
    const model = modelOf(compileFile('parameters/example.yaml'));
    mkdirSync(join(dir, 'audit'));
    writeFileSync(join(dir, MODEL_FILE), JSON.stringify({ ...model, trust: [{ value: 'source-identity: SourceRole\uE000\uE100In900000000000/X', accounts: 0 }] }));
    expect(() => readPreviousModel(dir)).toThrow(/written by an earlier xstack .* compile that revision again with this xstack/);
    writeFileSync(join(dir, MODEL_FILE), JSON.stringify(model));
    expect(readPreviousModel(dir)).toEqual(model);
  });

  it('beyond 12 accounts the model folds per account and still compares account by account', () => {
    const a = compileGenerated(20);
    const b = compileGenerated(21);
    const changes = compareModels(modelOf(a), modelOf(b));
    const added = b.org.accounts.filter((x) => !a.org.accounts.some((y) => y.id === x.id));
    expect(added.length).toBe(1);
    // In the new account, or made for it in the source account (its source role).
    // (Or a forwarding rule of the source account, whose logical id is a hash of the buses it forwards to.)
    expect(changes.resources.every((r) => r.change === 'added' && (r.resource.includes(added[0].id) || r.resource.startsWith('ForwardingRule'))), JSON.stringify(changes.resources)).toBe(true);
    expect(changes.resources.some((r) => r.resource.endsWith('@ 900000000000'))).toBe(true);
    expect(changes.resources.length).toBeGreaterThan(0);
    expect(changes.paths.removed).toEqual([]);
    expect(changes.paths.added.length).toBe(newPaths(a, b, added[0].id).length);
  });
});

describe('changes since: templates changed in place (review s50-audit M3)', () => {
  it('a property changed in place (the artifacts\' expiry) is no resource, grant, trust or path change: the templates\' line names the template that changed, and says what the other lines do not compare', () => {
    const out = tempDir('audit-since-in-place');
    execFileSync('node', ['.build/src/cli.js', 'audit', exampleEdited('prefix: acme\n', 'prefix: acme\nartifactRetentionDays: 90\n'), '--since', 'dist/example', '--out', out], { encoding: 'utf8', stdio: 'pipe' });
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain('- Templates, by SHA-256: 1 changed (pipeline-foundation), 0 added, 0 removed. A property changed in place');
    expect(md).toContain('is compared by none of the lines below, only by this one: diff the changed templates');
    expect(md).toMatch(/- 0 resources added, 0 removed, 0 replaced or renamed\./);
    expect(md).toContain('- 0 grant entries added, 0 removed; 0 trust entries added, 0 removed.');
  });

  it('without the previous compile\'s manifest, the templates are not compared, and the section says so', () => {
    const model = modelOf(compileFile('parameters/example.yaml'));
    const text = JSON.stringify(sinceSections('before', model, model));
    expect(text).toContain("Templates: not compared (the previous compile's manifest.json, which records each template's SHA-256, was not found beside its model).");
  });
});

describe('changes since: the templates\' other resources', () => {
  it('a property whose change replaces a VPC, a subnet, a pipeline or a rule is a replacement (review s18-audit M3)', () => {
    const before = modelOf(compileFile('parameters/example.yaml'));
    const after = modelOf(compileOrg(loadOrgFile(exampleEdited('      cidr: 10.20.0.0/16\n', '      cidr: 10.30.0.0/16\n'))));
    expect(compareModels(before, after).resources.filter((r) => r.resource.startsWith('Vpc ') || r.resource.startsWith('CiSubnet1 '))).toEqual([
      { change: 'replaced', stage: 'ci-network', resource: 'CiSubnet1 (AWS::EC2::Subnet) @ 555555555555', detail: 'CidrBlock 10.20.0.0/20 → 10.30.0.0/20 forces replacement' },
      { change: 'replaced', stage: 'ci-network', resource: 'Vpc (AWS::EC2::VPC) @ 555555555555', detail: 'CidrBlock 10.20.0.0/16 → 10.30.0.0/16 forces replacement' },
    ]);
    // Another prefix (an org never deployed: no layout file to hold it to its first).
    const example = readFileSync('parameters/example.yaml', 'utf8');
    const [acme, acme2] = [example, example.replace('prefix: acme\n', 'prefix: acme2\n')].map((text) => modelOf(compileOrg(parseOrg(text, 'example.yaml'))));
    const pipelines = compareModels(acme, acme2).resources.filter((r) => r.resource.startsWith('WebAppPipeline ') || r.resource.startsWith('WebAppTriggerRule '));
    expect(pipelines.map((r) => r.detail).sort()).toEqual([
      ...['222222222222', '333333333333', '444444444444'].map(() => 'Name acme-web-app → acme2-web-app forces replacement'),
      ...['222222222222', '333333333333', '444444444444'].map(() => 'Name acme-web-app-trigger → acme2-web-app-trigger forces replacement'),
    ]);
    // A model written before these were recorded holds none: not read as a replacement.
    const older = structuredClone(before);
    for (const r of older.resources) if (!isReachType(r.value.type)) r.value.names = {};
    expect(compareModels(older, before).resources).toEqual([]);
  });
});

/** A model of these resources alone, each in account 111111111111. */
const modelOfResources = (...resources: AuditModel['resources']): AuditModel => ({ format: 'xstack-audit-model/1', accountSets: [['111111111111']], source: { orgFile: 'x.yaml', orgFileSha256: null }, resources, grants: [], trust: [], paths: [] });

describe('changes since: logical ids paired by name', () => {
  const role = (logicalId: string, name: string) => ({ value: { stage: 'pipelines', logicalId, type: 'AWS::IAM::Role', arn: `arn:aws:iam::111111111111:role/${name}`, names: { RoleName: name } }, accounts: 0 });
  const model = modelOfResources;

  it('a removed resource is paired with the added one whose logical id ends like its own, whatever order they are listed in', () => {
    const before = model(role('OldBuildRole', 'old-build'), role('OldDeployRole', 'old-deploy'));
    // Sorted by id the added come the other way round (ADeploy before BBuild): pairing by order would cross them.
    for (const after of [model(role('ADeployRole', 'a-deploy'), role('BBuildRole', 'b-build')), model(role('BBuildRole', 'b-build'), role('ADeployRole', 'a-deploy'))]) {
      expect(compareModels(before, after).resources.map((r) => r.detail)).toEqual([
        'logical id OldDeployRole → ADeployRole (arn:aws:iam::111111111111:role/old-deploy → arn:aws:iam::111111111111:role/a-deploy)',
        'logical id OldBuildRole → BBuildRole (arn:aws:iam::111111111111:role/old-build → arn:aws:iam::111111111111:role/b-build)',
      ]);
    }
  });
});

describe('changes since: every principal of a statement is a line of its own (review s40-mutations-2 S2)', () => {
  it('a principal added to a trust or a key policy statement is one added line naming it, wherever it stands in the statement; taken away, that line removed', () => {
    const [first, second] = ['arn:aws:iam::222222222222:role/acme-pipeline', 'arn:aws:iam::333333333333:role/acme-pipeline'];
    const statement = (kind: 'trust' | 'key', principals: string[]): ResolvedStatement => ({
      stage: kind === 'trust' ? 'source-identity' : 'pipeline-foundation',
      account: '111111111111',
      policy: kind === 'trust' ? 'SourceRole/Trust' : 'ArtifactKey/UseKey',
      kind,
      effect: 'Allow',
      principals: principals.map((arn) => ({ kind: 'aws', arn })),
      actions: kind === 'trust' ? ['sts:AssumeRole'] : ['kms:Decrypt'],
      resources: [kind === 'trust' ? 'arn:aws:iam::111111111111:role/acme-source' : 'arn:aws:kms:eu-west-1:111111111111:key/k'],
      conditions: {},
    });
    const modelWith = (principals: string[]) => {
      const grants = [statement('trust', principals), statement('key', principals)];
      return auditModel('x.yaml', { orgFileSha256: null }, [], { paths: [], results: [], grants, index: new GrantIndex(grants), problems: [] });
    };
    const trustLine = `source-identity: SourceRole/Trust | Allow ${second} | sts:AssumeRole | on arn:aws:iam::111111111111:role/acme-source`;
    const keyLine = `pipeline-foundation: ArtifactKey/UseKey | Allow ${second} | kms:Decrypt | on arn:aws:kms:eu-west-1:111111111111:key/k`;
    for (const after of [[first, second], [second, first]]) {
      const changes = compareModels(modelWith([first]), modelWith(after));
      expect(changes.trust, after.join(', ')).toEqual({ added: [trustLine], removed: [] });
      expect(changes.grants, after.join(', ')).toEqual({ added: [keyLine], removed: [] });
      const back = compareModels(modelWith(after), modelWith([first]));
      expect([back.trust, back.grants]).toEqual([{ added: [], removed: [trustLine] }, { added: [], removed: [keyLine] }]);
    }
  });

  it("govcloud's second source account: each artifact key's statement for the source roles gains a line for that account, beside the first's", () => {
    const text = readFileSync('parameters/govcloud.yaml', 'utf8');
    const second = '  account2-gov:\n    id: "098765432109"\n    role: source\n';
    const itsRepository = '  records-service:\n    account: account2-gov\n';
    expect([text.split(second).length, text.split(itsRepository).length]).toEqual([2, 2]);
    // One source account before: account2-gov's repository in account1-gov.
    const oneSource = text.replace(second, '').replace(itsRepository, '  records-service:\n    account: account1-gov\n');
    const [before, after] = [oneSource, text].map((t) => modelOf(compileOrg(parseOrg(t, 'govcloud.yaml'))));
    const changes = compareModels(before, after);
    const head = (root: string) => `pipeline-foundation: ArtifactKey/SourceRolesUseKey | Allow arn:aws-us-gov:iam::${root}:root | kms:Decrypt, kms:DescribeKey, kms:Encrypt, kms:GenerateDataKey | on arn:aws-us-gov:kms:us-gov-west-1:`;
    const keyAccount = (line: string) => /:kms:us-gov-west-1:(\d{12}):key\//.exec(line)![1];
    // The statement was there, naming the first source account: its condition now names the second's source role too.
    expect(changes.conditions.filter((l) => l.startsWith(head('012345678901'))).map(keyAccount)).toEqual(['123456789012', '210987654321']);
    // And the second source account is a principal of it, a line in each pipeline account's key policy.
    expect(changes.grants.added.filter((l) => l.startsWith(head('098765432109'))).map(keyAccount)).toEqual(['123456789012', '210987654321']);
  });
});

describe("changes since: a resource's type changed under its logical id (review s40-mutations-2 S4)", () => {
  // Not a replacement: CloudFormation fails such an update (TYPE_CHANGE_REFUSED, src/deploy/replacements.ts), and
  // deploy refuses it before any operation; the section says so instead of counting it replaced.
  const resource = (logicalId: string, type: string, names: Record<string, string> = {}, arn?: string) => ({ value: { stage: 'pipelines', logicalId, type, ...(arn ? { arn } : {}), names }, accounts: 0 });
  const summaryOf = (before: AuditModel, after: AuditModel) =>
    sinceSections('before', before, after)
      .flatMap((x) => x.blocks)
      .flatMap((b) => (b.kind === 'list' ? b.items : []))
      .find((i) => i.includes(' replaced or renamed'));

  it('is listed as refused, its detail naming both types, though no replacing property changed', () => {
    const [before, after] = [modelOfResources(resource('WebAppPipelinePolicy', 'AWS::IAM::Policy')), modelOfResources(resource('WebAppPipelinePolicy', 'AWS::IAM::ManagedPolicy'))];
    expect(compareModels(before, after).resources).toEqual([
      {
        change: 'type changed, refused ⚠',
        stage: 'pipelines',
        resource: 'WebAppPipelinePolicy (AWS::IAM::ManagedPolicy) @ 111111111111',
        detail: `type AWS::IAM::Policy → AWS::IAM::ManagedPolicy: ${TYPE_CHANGE_REFUSED}, so deploy refuses this update`,
      },
    ]);
    expect(summaryOf(before, after)).toBe('0 resources added, 0 removed, 0 replaced or renamed; 1 of another type under the same logical id, which CloudFormation refuses (deploy refuses it before any operation).');
  });

  it('a bucket that becomes another type: refused too, not counted as a bucket replaced', () => {
    const bucket = 'acme-artifacts-111111111111-eu-west-1';
    const directory = 'acme-artifacts--euw1-az1--x-s3';
    const before = modelOfResources(resource('ArtifactBucket', 'AWS::S3::Bucket', { BucketName: bucket }, `arn:aws:s3:::${bucket}`));
    const after = modelOfResources(resource('ArtifactBucket', 'AWS::S3Express::DirectoryBucket', { BucketName: directory }, `arn:aws:s3express:eu-west-1:111111111111:bucket/${directory}`));
    expect(compareModels(before, after).resources).toEqual([
      {
        change: 'type changed, refused ⚠',
        stage: 'pipelines',
        resource: `ArtifactBucket (AWS::S3Express::DirectoryBucket) arn:aws:s3express:eu-west-1:111111111111:bucket/${directory} @ 111111111111`,
        detail: `type AWS::S3::Bucket → AWS::S3Express::DirectoryBucket: ${TYPE_CHANGE_REFUSED}, so deploy refuses this update`,
      },
    ]);
    expect(summaryOf(before, after)).not.toContain('key, bucket or repository');
  });
});

/** The example org with one change to its text, written beside its layout file (the CLI reads both). */
function exampleEdited(from: string, to: string): string {
  const text = readFileSync('parameters/example.yaml', 'utf8');
  expect(text.split(from).length, from).toBe(2);
  const dir = tempDir('example-edited');
  writeFileSync(join(dir, 'example.yaml'), text.replace(from, to));
  writeFileSync(join(dir, 'example.layout.json'), readFileSync('parameters/example.layout.json', 'utf8'));
  return join(dir, 'example.yaml');
}
const PROD_FROM_DEVELOP: [string, string] = ['      staging: release\n      prod: main\n', '      staging: release\n      prod: develop\n'];

describe('release control (review s18-audit M2)', () => {
  const rowOf = (md: string, repository: string, environment: string) =>
    md.slice(md.indexOf('## Release control')).split('\n').find((l) => l.startsWith(`| ${repository} (shared-services) | ${environment} (`))!;

  it('says which branch each environment deploys, whether it is protected, who may write it (asked of the evaluator) and who may start the pipeline', () => {
    const md = compileFile('parameters/example.yaml').files.get('audit/report.md')!;
    const prod = rowOf(md, 'web-app', 'prod');
    expect(prod).toMatch(/^\| web-app \(shared-services\) \| prod \(444444444444\) \| main \| yes \| /);
    // main is protected: the maintainer role writes it, with the Identity Center pattern it trusts; developers do not.
    expect(prod).toContain('arn:aws:iam::111111111111:role/acme-maintainer (access-roles: MaintainerRoleCodecommitDeveloperIn111111111111/WorkOnRepositories), assumed by arn:aws:iam::555555555555:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Maintainer_*');
    expect(prod).not.toContain('acme-developer');
    // The execution role holds no branch write itself (codecommit:CreateCommit serves only a repository's Code, which no
    // template sets), but it may rewrite the maintainer role's trust and policies (review s22 A1): below.
    // It may also rewrite which instances prod's deployment group deploys to (review s30-audit M2).
    expect(prod).toContain('the StackSet execution role of prod (codedeploy:UpdateDeploymentGroup, codepipeline:UpdatePipeline, events:PutTargets: CodedeployNamed, CodepipelineNamed, EventsNamed, under "The StackSet execution role")');
    expect(prod).toContain('principals of shared-services whose own policies allow a push (outside the org file)');
    expect(prod).toContain('arn:aws:iam::444444444444:role/acme-web-app-trigger (codepipeline:StartPipelineExecution: pipelines: WebAppTriggerRoleStartPipeline/StartPipeline)');
    expect(prod).toContain('principals of prod whose own policies allow codepipeline:StartPipelineExecution, codepipeline:UpdatePipeline, codepipeline:RollbackStage on the pipeline, codepipeline:PutActionRevision on its Source action, codedeploy:CreateDeployment, codedeploy:UpdateDeploymentGroup on its deployment group, or events:PutTargets on its trigger rule with iam:PassRole on the trigger role (outside the org file)');
    // No second person between a push and prod: said, as the templates have no approval action (review s30-audit M1).
    const pipelines = renderTemplate(compileFile('parameters/example.yaml').stages.find((st) => st.id === 'pipelines')!.definition);
    expect(JSON.stringify(pipelines)).not.toContain('"Approval"');
    expect(md).toContain('No pipeline has an approval action (each runs Source, then Deploy) and xstack makes no CodeCommit approval rule: whoever may write a deployed branch, or start its pipeline, releases to that environment alone, with no second person.');
    // Nor does the bucket hold back its own account's writers, nor require the artifact key (review s30-audit M3).
    expect(md).toContain("a principal of the pipeline account whose own policy allows s3:PutObject there, as the bucket policy limits other accounts, not the bucket's own");
    // develop is not protected: developers write it too.
    expect(rowOf(md, 'web-app', 'dev')).toMatch(/\| develop \| no \| arn:aws:iam::111111111111:role\/acme-developer \(/);
    expect(md.split('\n').filter((l) => l.startsWith('| web-app (shared-services) | ') || l.startsWith('| payments-api (shared-services) | '))).toHaveLength(5);
    // Where each deploys: the instances its deployment group selects, by every tag they must carry (review s29-identity M1).
    expect(prod.endsWith(' | Environment=prod and Application=web-app |')).toBe(true);
    expect(rowOf(md, 'payments-api', 'dev').endsWith(' | Environment=dev and Application=payments-api |')).toBe(true);
    // Where it is alone in its account (web-app in staging), the application's tag is not asked: every instance of the environment's (review s36-audit F1).
    expect(rowOf(md, 'web-app', 'staging').endsWith(' | Environment=staging |')).toBe(true);
    const alone = compileOrg(parseOrg(readFileSync('parameters/example.yaml', 'utf8').replace(/\n  payments-api:\n    repository: payments-api\n    branches:\n      dev: develop\n      prod: main\n    deploy:\n      type: codedeploy\n/, '\n'), 'parameters/example.yaml'));
    expect(rowOf(alone.files.get('audit/report.md')!, 'web-app', 'staging').endsWith(' | Environment=staging |')).toBe(true);
  });

  it('the execution role of the source account writes a protected branch through the role that may push to it: its policy rewrites that role (review s22 A1)', async () => {
    const { executionPolicyOf, compiledTemplates } = await import('../src/deploy/execution-policy');
    const c = compileFile('parameters/example.yaml');
    const prod = rowOf(c.files.get('audit/report.md')!, 'web-app', 'prod');
    expect(prod).toContain(
      'the StackSet execution role of shared-services (iam:PutRolePolicy, iam:AttachRolePolicy, iam:UpdateAssumeRolePolicy on acme-maintainer and 6 other roles the org makes there: IamNamed, under "The StackSet execution role": it may make such a role trust anyone, or give it a push, and push as it; who may act as the execution role: "Who may assume the StackSet execution role", under "What this report cannot see")',
    );
    // develop: the developer role pushes there too, and the execution role may rewrite both.
    expect(rowOf(c.files.get('audit/report.md')!, 'web-app', 'dev')).toContain('iam:PutRolePolicy, iam:AttachRolePolicy, iam:UpdateAssumeRolePolicy on acme-developer, acme-maintainer and 5 other roles the org makes there: IamNamed');
    // Asked of the policy, not assumed: without the maintainer role in IamNamed it is not listed, and a Deny takes its action away.
    const templates = new Map(c.stages.map((s) => [s.id, renderTemplate(s.definition)]));
    const execution = executionPolicyOf(c.org, compiledTemplates(c.stages, (s) => templates.get(s.id)!));
    const prodWith = (statements: typeof execution.statements) => {
      const report = buildReport({ org: c.org, stages: c.stages, templates, rollout: c.rollout, access: c.access, files: c.files, svg: '', executionRole: { statements } });
      return rowOf(toMarkdown(report), 'web-app', 'prod');
    };
    const maintainer = (r: string) => r.endsWith(':role/acme-maintainer');
    expect(prodWith(execution.statements.map((s) => (s.Sid === 'IamNamed' ? { ...s, Resource: s.Resource.filter((r) => !maintainer(r)) } : s)))).toContain('the StackSet execution role of shared-services (iam:PutRolePolicy, iam:AttachRolePolicy, iam:UpdateAssumeRolePolicy on 6 other roles the org makes there: IamNamed,');
    const denied = [...execution.statements, { Sid: 'NoTrustEdits', Effect: 'Deny' as const, Action: ['iam:UpdateAssumeRolePolicy'], Resource: ['arn:${AWS::Partition}:iam::${AWS::AccountId}:role/acme-maintainer'] }];
    expect(prodWith(denied)).toContain('the StackSet execution role of shared-services (iam:PutRolePolicy, iam:AttachRolePolicy on acme-maintainer: IamNamed; iam:PutRolePolicy, iam:AttachRolePolicy, iam:UpdateAssumeRolePolicy on 6 other roles the org makes there: IamNamed,');
    // With no IAM rewrite in its policy at all, it is not listed.
    expect(prodWith(execution.statements.filter((s) => s.Sid !== 'IamNamed' && s.Sid !== 'IamNoPathedNames'))).not.toContain('the StackSet execution role of shared-services');
    // Whether a role pushes today does not matter (review s22-diff D1): an org without developer access has no
    // pusher, and the execution role still writes the branch through the roles it may rewrite there (the source roles).
    const bare = compileOrg(parseOrg(readFileSync('parameters/example.yaml', 'utf8').replace(/\naccess:\n(?: .*\n)*/, '\n'), 'bare.yaml'));
    expect(rowOf(bare.files.get('audit/report.md')!, 'web-app', 'prod')).toMatch(/the StackSet execution role of shared-services \(iam:PutRolePolicy, iam:AttachRolePolicy, iam:UpdateAssumeRolePolicy on \d+ roles the org makes there: IamNamed,/);
  });

  it("who may write the artifacts a run deploys from: the roles with s3:PutObject on the environment's bucket and who assumes each, the source account's execution role through the source role it may rewrite, and the account's own principals (review s50-audit m3)", () => {
    const md = compileFile('parameters/example.yaml').files.get('audit/report.md')!;
    expect(md).toContain('| repository | environment (account) | branch | protected | who may write the branch | who may start or change the pipeline | who may write the artifacts | deploys to the instances tagged |');
    const artifacts = (row: string) => row.split(' | ')[6];
    const prod = artifacts(rowOf(md, 'web-app', 'prod'));
    expect(prod).toMatch(/^arn:aws:iam::111111111111:role\/acme-source-444444444444 \(source-identity: SourceRole444444444444SourceActionIn111111111111\/WriteArtifacts; pipeline-foundation: ArtifactBucketPolicy\/SourceRolesWriteArtifacts/);
    expect(prod).toContain('), assumed by arn:aws:iam::444444444444:role/acme-pipeline; arn:aws:iam::444444444444:role/acme-pipeline (pipelines: ');
    expect(prod).toContain(
      'the StackSet execution role of shared-services (iam:PutRolePolicy, iam:AttachRolePolicy, iam:UpdateAssumeRolePolicy on acme-source-444444444444: IamNamed, under "The StackSet execution role": it may make such a role trust anyone, or give it a write to the bucket, and write as it;',
    );
    // The pipeline account's own execution role may put the bucket's policy, or rewrite the pipeline role (review s58-audit m3).
    expect(prod.endsWith('; the StackSet execution role of prod (iam:AttachRolePolicy, iam:PutRolePolicy, iam:UpdateAssumeRolePolicy, s3:PutBucketPolicy: IamNamed, S3Named, under "The StackSet execution role"): it may give itself or the pipeline role a write to the bucket, and write; principals of prod whose own policies allow s3:PutObject on the bucket (outside the org file)')).toBe(true);
    // The deployment targets only read the bucket; another environment's source role writes its own bucket only.
    expect(prod).not.toContain('acme-deploy-target');
    expect(prod).not.toContain('acme-source-222222222222');
    expect(artifacts(rowOf(md, 'web-app', 'dev'))).toMatch(/^arn:aws:iam::111111111111:role\/acme-source-222222222222 \(/);
  });

  it("the execution role's rewrites are asked once per role for both columns: a Deny on one rewrite of the source role is read in the artifacts' column and the branch's alike", async () => {
    const { executionPolicyOf, compiledTemplates } = await import('../src/deploy/execution-policy');
    const c = compileFile('parameters/example.yaml');
    const templates = new Map(c.stages.map((s) => [s.id, renderTemplate(s.definition)]));
    const execution = executionPolicyOf(c.org, compiledTemplates(c.stages, (s) => templates.get(s.id)!));
    const denied = [...execution.statements, { Sid: 'NoTrustEdits', Effect: 'Deny' as const, Action: ['iam:UpdateAssumeRolePolicy'], Resource: ['arn:${AWS::Partition}:iam::${AWS::AccountId}:role/acme-source-444444444444'] }];
    const report = buildReport({ org: c.org, stages: c.stages, templates, rollout: c.rollout, access: c.access, files: c.files, svg: '', executionRole: { statements: denied } });
    const [branch, artifacts] = ((row: string[]) => [row[4], row[6]])(rowOf(toMarkdown(report), 'web-app', 'prod').split(' | '));
    expect(artifacts).toContain('the StackSet execution role of shared-services (iam:PutRolePolicy, iam:AttachRolePolicy on acme-source-444444444444: IamNamed, under');
    expect(branch).toContain('the StackSet execution role of shared-services (iam:PutRolePolicy, iam:AttachRolePolicy, iam:UpdateAssumeRolePolicy on acme-maintainer and 5 other roles the org makes there: IamNamed; iam:PutRolePolicy, iam:AttachRolePolicy on 1 other role the org makes there: IamNamed, under');
  });

  it('who may start or change the pipeline includes who deploys without it and who rolls a stage back (review s22 A5)', () => {
    const md = compileFile('parameters/example.yaml').files.get('audit/report.md')!;
    const prod = rowOf(md, 'web-app', 'prod');
    // The pipeline role deploys to the deployment group; the pipeline account's own principals may too, or roll back.
    expect(prod).toContain('arn:aws:iam::444444444444:role/acme-pipeline (codedeploy:CreateDeployment: pipelines: WebAppPipelinePolicy/DeployWithCodeDeploy)');
    expect(prod).toContain('an earlier run\'s revision by a rollback, any revision the deployment targets can read by a deployment without the pipeline');
    const intro = md.slice(md.indexOf('## Release control')).split('\n')[2];
    expect(intro).toContain('https://docs.aws.amazon.com/codepipeline/latest/userguide/stage-rollback.html');
    expect(intro).toContain('https://docs.aws.amazon.com/codedeploy/latest/userguide/deployments-create-cli.html');
  });

  it('a statement on a pattern of pipelines is a starter of the pipelines it matches, no other (review s41-mutations-3 RL5)', () => {
    const c = compileFile('parameters/example.yaml');
    const pattern = `arn:aws:codepipeline:${c.org.region}:222222222222:${new Names(c.org.prefix).pipeline('web-app')}*`;
    const releaser: ResolvedStatement = { stage: 'x', account: '222222222222', policy: 'Releaser/Start', kind: 'identity', effect: 'Allow', attachedTo: 'arn:aws:iam::222222222222:role/web-releaser', principals: [], actions: ['codepipeline:StartPipelineExecution'], resources: [pattern], conditions: {} };
    const section = releaseControlSection({ org: c.org, access: { ...c.access, grants: [...c.access.grants, releaser] }, reach: [], executionRole: undefined, label: (g) => g.policy, fold: undefined, classOf: () => undefined });
    const rows = section.blocks.flatMap((b) => (b.kind === 'table' ? b.rows : []));
    const starters = (repository: string) => String(rows.find((r) => String(r[0]).startsWith(`${repository} `) && String(r[1]) === 'dev (222222222222)')![5]);
    expect(starters('web-app')).toContain('arn:aws:iam::222222222222:role/web-releaser (codepipeline:StartPipelineExecution: Releaser/Start)');
    expect(starters('payments-api')).not.toContain('web-releaser');
  });

  it('prod deploying develop: the row says so, unprotected, and developers may write what prod deploys', () => {
    const md = compileOrg(loadOrgFile(exampleEdited(...PROD_FROM_DEVELOP))).files.get('audit/report.md')!;
    const prod = rowOf(md, 'web-app', 'prod');
    expect(prod).toMatch(/^\| web-app \(shared-services\) \| prod \(444444444444\) \| develop \| no ⚠ \(a later environment\) \| arn:aws:iam::111111111111:role\/acme-developer \(/);
  });

  it('--since takes the audit bundle as auditors receive it: its folder or its audit.json, checked against the manifest beside it where there is one (review s58-audit m6)', () => {
    const [previous, bundle] = [tempDir('compiled-example'), tempDir('bundle')];
    execFileSync('node', ['.build/src/cli.js', 'compile', 'parameters/example.yaml', '--out', previous], { stdio: 'pipe' });
    const audit = join(previous, 'example', 'audit');
    const since = (path: string) => {
      const out = tempDir('audit-since-bundle');
      const run = spawnSync('node', ['.build/src/cli.js', 'audit', 'parameters/example.yaml', '--since', path, '--out', out], { encoding: 'utf8' });
      return { status: run.status, stderr: run.stderr, md: run.status === 0 ? readFileSync(join(out, 'report.md'), 'utf8') : '' };
    };
    for (const path of [audit, join(audit, 'audit.json')]) {
      const run = since(path);
      expect(run.status, run.stderr).toBe(0);
      expect(run.md).toContain('- Templates, by SHA-256: 0 changed, 0 added, 0 removed.');
      expect(run.md).toContain('- 0 access paths added, 0 removed; 0 newly allowed, 0 newly refused.');
    }
    // A bundle copied on its own: compared without the manifest, and said so.
    cpSync(audit, bundle, { recursive: true });
    const alone = since(bundle);
    expect(alone.status, alone.stderr).toBe(0);
    expect(alone.md).toContain("- Templates: not compared (the previous compile's manifest.json, which records each template's SHA-256, was not found beside its model).");
    expect(alone.stderr).toContain("the previous compile's manifest.json");
    // The manifest beside it is read: a model that is not what it records is refused, as for the compile's folder.
    writeFileSync(join(audit, 'audit.json'), readFileSync(join(audit, 'audit.json'), 'utf8').replace('"format"', '"format" '));
    expect(since(audit).stderr).toContain('does not match the SHA-256 its manifest.json records');
  });

  it('--since reports a pipeline moved to another branch, by pipeline and account, with its trigger rule', () => {
    const [previous, out] = [tempDir('compiled-example'), tempDir('audit-since-branch')];
    execFileSync('node', ['.build/src/cli.js', 'compile', 'parameters/example.yaml', '--out', previous], { stdio: 'pipe' });
    execFileSync('node', ['.build/src/cli.js', 'audit', exampleEdited(...PROD_FROM_DEVELOP), '--since', join(previous, 'example'), '--out', out], { stdio: 'pipe' });
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    // prod now deploys develop, which every developer may push to: said with a ⚠ (review s58-audit M1).
    expect(md).toContain('- Branches deployed (by pipeline and account): 1 changed, 0 added, 0 removed; ⚠ 1 now deployed from a branch developers may push to, which was protected.');
    expect(md).toContain('| changed | web-app prod (444444444444) | branch main (protected) → develop (not protected ⚠: developers may push to it); trigger rule on main → develop |');
  });

  it("--since reports a trigger rule pointed at another branch while the pipeline's branch stays, by pipeline and account (review s40-mutations-2 S5)", () => {
    const c = compileFile('parameters/example.yaml');
    // The org file cannot say this (a rule follows its pipeline's branches): the pipelines template's rule edited, every account's pattern main.
    const stages = planStages(c.org);
    const rule = stages.find((s) => s.id === 'pipelines')!.definition.resources.WebAppTriggerRule as unknown as { Properties: { EventPattern: { detail: { referenceName: unknown } } } };
    rule.Properties.EventPattern.detail.referenceName = ['main'];
    const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
    const resolver = new Resolver(c.org, stages, templates);
    const access = analyseAccess(c.org, stages, templates, { resolver });
    const after = auditModel(c.org.file, { orgFileSha256: null }, orgResources(c.org, stages, templates, new Map(), resolver), access, undefined, { org: c.org, stages, templates, resolver });
    // dev and staging now start from main, which their pipeline does not deploy; prod's rule named main already.
    const releases = [
      { change: 'changed', pipeline: 'web-app dev (222222222222)', detail: 'trigger rule on develop → main' },
      { change: 'changed', pipeline: 'web-app staging (333333333333)', detail: 'trigger rule on release → main' },
    ];
    expect(compareModels(modelOf(c), after).releases).toEqual(releases);
    const section = sinceSections('before', modelOf(c), after);
    expect(section.flatMap((x) => x.blocks).flatMap((b) => (b.kind === 'list' ? b.items : []))).toContain('Branches deployed (by pipeline and account): 2 changed, 0 added, 0 removed.');
    expect(section.find((x) => x.id === 'since-releases')!.blocks).toEqual([expect.objectContaining({ rows: releases.map((r) => [r.change, r.pipeline, r.detail]) })]);
  });

  it("a pattern's change is read by its operator: wider under …Like and Arn operators, excluding more under their Not forms, a plain value under StringEquals (review s19 m3)", () => {
    const clauses = (key: string, values: string[]) => new Map([[key, values]]);
    const change = (key: string) => clauseChanges(clauses(key, ['role/Developer_*']), clauses(key, ['role/Dev*']));
    expect(change('StringLike aws:PrincipalArn')).toEqual(['StringLike aws:PrincipalArn pattern widened: role/Developer_* → role/Dev* (matches more)']);
    expect(change('ArnEquals aws:PrincipalArn')).toEqual(['ArnEquals aws:PrincipalArn pattern widened: role/Developer_* → role/Dev* (matches more)']);
    expect(change('ForAnyValue:StringNotLikeIfExists aws:PrincipalArn')).toEqual(['ForAnyValue:StringNotLikeIfExists aws:PrincipalArn pattern widened: role/Developer_* → role/Dev* (excludes more)']);
    expect(change('StringEquals aws:PrincipalArn')).toEqual(['StringEquals aws:PrincipalArn value added: role/Dev*', 'StringEquals aws:PrincipalArn value dropped: role/Developer_*']);
  });

  it('--since says a refusal lost under another name (a branch no longer protected): counted with ⚠, its paths listed first and marked, the branch deployed said unprotected (review s58-audit M1)', () => {
    const before = modelOf(compileFile('parameters/example.yaml'));
    const loosened = compileOrg(loadOrgFile(exampleEdited('protectedBranches: [main, release]', 'protectedBranches: [main]')));
    const after = modelOf(loosened);
    expect([before.protectedBranches, after.protectedBranches]).toEqual([['main', 'release'], ['main']]);
    const section = sinceSections('before', before, after, { access: loosened.access, organizationId: loosened.org.organizationId });
    const items = section.flatMap((x) => x.blocks).flatMap((b) => (b.kind === 'list' ? b.items : []));
    // staging deploys release, which every developer may now push to.
    expect(items).toContain('Branches deployed (by pipeline and account): 1 changed, 0 added, 0 removed; ⚠ 1 now deployed from a branch developers may push to, which was protected.');
    expect(section.find((x) => x.id === 'since-releases')!.blocks).toEqual([
      expect.objectContaining({ rows: [['changed', 'web-app staging (333333333333)', 'branch release: (protected) → (not protected ⚠: developers may push to it)']] }),
    ]);
    expect(items).toContain('access.developers.protectedBranches: release removed ⚠ (developers may push to, merge into and delete it now).');
    // The paths that refused developers the release branch are gone, and their requests are allowed now.
    const warning = items.find((i) => i.startsWith('⚠ '));
    expect(warning).toMatch(/^⚠ \d+ removed paths? that had to be refused (is|are) allowed by this compile/);
    const table = section.find((x) => x.id === 'since-paths')!.blocks[0];
    if (table.kind !== 'table') throw new Error('since-paths is a table');
    const flagged = table.rows.filter((r) => r[0] === 'removed, now allowed ⚠');
    expect(flagged.length).toBe(Number(/^⚠ (\d+)/.exec(warning!)![1]));
    expect(table.rows.slice(0, flagged.length)).toEqual(flagged);
    for (const r of flagged) expect(String(r[1])).toMatch(/refs\/heads\/release.* → was refused; this compile ALLOWS it ⚠ \(/);
    expect(flagged.map((r) => table.rowClass?.(r))).toEqual(flagged.map(() => 'alert'));
    expect(table.rows.filter((r) => r[0] === 'removed').some((r) => String(r[1]).includes('ALLOWS it'))).toBe(false);
    // Unchanged against itself: no ⚠ line, no protection change.
    const same = sinceSections('before', after, after, { access: loosened.access, organizationId: loosened.org.organizationId }).flatMap((x) => x.blocks).flatMap((b) => (b.kind === 'list' ? b.items : []));
    expect(same.filter((i) => i.includes('⚠'))).toEqual([]);
  });

  it('--since reads a widened trust pattern as widened, not only as a line removed and one added (review s18-audit M3)', () => {
    const before = modelOf(compileFile('parameters/example.yaml'));
    const widened = compileOrg(loadOrgFile(exampleEdited('roleNames: ["AWSReservedSSO_Developer_*"]', 'roleNames: ["AWSReservedSSO_Dev*"]')));
    const after = modelOf(widened);
    const changes = compareModels(before, after);
    // The old sample's path, removed, asked of the new policies: the Developer permission set keeps its access.
    const section = sinceSections('before', before, after, { access: widened.access, organizationId: widened.org.organizationId });
    const rows = section.flatMap((x) => x.blocks).flatMap((b) => (b.kind === 'table' ? b.rows : [])).map((r) => r.join(' | '));
    expect(rows.filter((r) => r.startsWith('removed | developers (AWSReservedSSO_Developer_* in tools) assume the developer role of shared-services'))).toEqual([
      expect.stringMatching(/ → was allowed; this compile allows it still \(access-roles: DeveloperRoleIn111111111111\/DevelopersAssume; access-roles: DeveloperRoleIn111111111111\/DevelopersAssumeCarrySourceIdentity\)$/),
    ]);
    // The same widening in each of the trust's two statements (sts:AssumeRole; a carried sts:SetSourceIdentity).
    const widening =
      'ArnLike aws:PrincipalArn pattern widened: arn:aws:iam::555555555555:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Developer_* → arn:aws:iam::555555555555:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Dev* (matches more); ' +
      'ArnLike aws:PrincipalArn pattern widened: arn:aws:iam::555555555555:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Developer_* → arn:aws:iam::555555555555:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Dev* (matches more); ' +
      // A pattern that no longer names one permission set loses the guard against longer set names (review s21-tpl T3),
      // said too; the refusal of deeper paths stays (review s50-access A1).
      'ArnNotLike aws:PrincipalArn value dropped: arn:aws:iam::555555555555:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_Developer_*_*';
    expect(changes.conditions).toEqual([
      `access-roles: DeveloperRoleIn111111111111/DevelopersAssume | Allow arn:aws:iam::555555555555:root | sts:AssumeRole | on arn:aws:iam::111111111111:role/acme-developer: ${widening}`,
      `access-roles: DeveloperRoleIn111111111111/DevelopersAssumeCarrySourceIdentity | Allow arn:aws:iam::555555555555:root | sts:SetSourceIdentity | on arn:aws:iam::111111111111:role/acme-developer: ${widening}`,
    ]);
    // Narrowed back, it is no widening.
    expect(compareModels(after, before).conditions[0]).not.toContain('widened');
    expect(compareModels(after, before).conditions[0]).toContain('value dropped: arn:aws:iam::555555555555:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Dev*');
  });
});

describe('the StackSet execution role in the report', () => {
  it('lists what bootstrap grants it: every statement of the derived policy, each broader one with its reason, none AdministratorAccess', async () => {
    const { executionPolicyFor } = await import('../src/deploy/execution-policy');
    for (const file of ORG_FILES) {
      const c = compileFile(file);
      const md = c.files.get('audit/report.md')!;
      const section = md.split('<a id="execution-role"></a>')[1].split('<a id=')[0];
      const statements = executionPolicyFor(c.stages.map((s) => renderTemplate(s.definition)), c.org.prefix);
      expect(statements.length).toBeGreaterThan(5);
      for (const s of statements) {
        // A Deny is marked so in its row.
        const row = section.split('\n').find((l) => l.startsWith(`| ${s.Effect === 'Deny' ? `${s.Sid} (Deny)` : s.Sid} |`));
        expect(row, s.Sid).toBeDefined();
        expect(row).toContain(s.Action.join(', '));
        if (s.Resource.includes('*')) expect(s.reason, s.Sid).toBeTruthy();
      }
      // The policy grants no AdministratorAccess (the prose says what administering the org's roles amounts to).
      expect(section.split('\n').filter((l) => l.startsWith('|')).join('\n')).not.toMatch(/AdministratorAccess/);
      // Every resource a statement without a reason names is the org's: its prefix, one of its repositories, or the default bus (its policy).
      const orgs = (arn: string) => arn.includes(c.org.prefix) || c.org.repositories.some((r) => arn.endsWith(`:${r.name}`)) || arn.endsWith(":event-bus/default");
      for (const s of statements.filter((x) => !x.reason)) for (const r of s.Resource) expect(orgs(r), `${s.Sid} ${r}`).toBe(true);
    }
  });
});

describe("each account's execution role policy in the report (review s30-audit m1)", () => {
  it('every target account is in one row, which lists the statements bootstrap gives that account and, where they differ by account, its own resources', async () => {
    const { compiledTemplates, executionPolicyOf, forAccount } = await import('../src/deploy/execution-policy');
    const c = compileFile('parameters/example.yaml');
    const section = c.files.get('audit/report.md')!.split('<a id="execution-role"></a>')[1].split('<a id=')[0];
    const table = section.split("| accounts | statements of the account's policy |")[1].split('\n\n')[0];
    const rows = table.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('|---'));
    // As bootstrap derives each account's policy (deploy/bootstrap.ts): the org's statements, each account's part of them.
    const union = executionPolicyOf(c.org, compiledTemplates(c.stages, (s) => renderTemplate(s.definition))).statements;
    const targets = new Set(c.stages.flatMap((s) => s.targets.map((a) => a.id)));
    for (const account of c.org.accounts.filter((a) => targets.has(a.id))) {
      const holding = rows.filter((r) => r.split(' | ')[0].split(/[:,] /).includes(account.name));
      expect(holding, account.name).toHaveLength(1);
      const held = holding[0].split(' | ')[1].replace(/ \|$/, '').split('; ');
      const own = forAccount(union, account.id);
      // The same statements, in the policy's order.
      expect(held.map((h) => h.replace(/ \(.*$/, '')), account.name).toEqual(own.map((s) => s.Sid));
      for (const s of own) {
        const cell = held.find((h) => h.replace(/ \(.*$/, '') === s.Sid)!;
        const all = union.find((u) => u.Sid === s.Sid)!;
        if (s.Resource.length === all.Resource.length) expect(cell === s.Sid || cell === `${s.Sid} (Deny)`, `${account.name} ${s.Sid}`).toBe(true);
        else for (const r of s.Resource) expect(cell, `${account.name} ${s.Sid}`).toContain(r.slice(r.lastIndexOf(':') + 1));
      }
    }
    // Read against the org file: staging runs one pipeline, so its policy names only that one's; the tools account runs none.
    const staging = rows.find((r) => r.startsWith('| 1 account: staging |'))!;
    expect(staging).toContain('CodepipelineNamed (acme-web-app);');
    expect(staging).not.toContain('acme-payments-api');
    expect(rows.find((r) => r.startsWith('| 1 account: tools |'))).not.toContain('Codepipeline');
  });
});

/** The report's claims that the s15 report review found false or misleading (review-s15-report R1, R3–R11, R13), as they now read. */
describe('the report says what the templates do, and no more', () => {
  for (const file of ORG_FILES) {
    it(`${file}: every allowed path's principal, a service's too, is listed on the org resource it reaches, a bucket statement scoped to a prefix of its objects included (R1)`, () => {
      const c = compileFile(file);
      const templates = new Map(c.stages.map((s) => [s.id, renderTemplate(s.definition)]));
      const resources = orgResources(c.org, c.stages, templates, classesOf(c.access));
      const reach = reachOfResources(c.org, resources, c.access);
      let prefixed = 0;
      for (const result of c.access.results.filter((x) => x.allowed)) {
        const p = result.path;
        const on = resources.find((r) => p.resource === r.arn || p.resource.startsWith(`${r.arn}/`));
        if (!on) continue;
        const shown = p.principal.kind === 'service' ? `service ${p.principal.service}` : p.principal.kind === 'aws' ? p.principal.arn : '*';
        // A statement on a prefix below the bucket (`<bucket>/artifacts/*`), not on the bucket or all its objects.
        if (result.grantedBy.some((g) => g.resources.some((x) => x.startsWith(`${on.arn}/`) && x.indexOf('/', on.arn.length + 1) > 0))) prefixed++;
        expect(
          reach.some((e) => e.resource === on && e.actions.includes(result.action) && (e.principal === shown || (p.identityManagedElsewhere && e.principal.endsWith('*')))),
          `${p.purpose}: ${result.action}`,
        ).toBe(true);
      }
      expect(prefixed).toBeGreaterThan(0);
      // S3 server access logging writes the access-log buckets (S3DeliversAccessLogs, on `artifacts/*` only).
      const md = c.files.get('audit/report.md')!;
      const logs = resources.filter((r) => r.logicalId === 'AccessLogBucket');
      expect(logs.length).toBeGreaterThan(0);
      for (const r of logs) {
        expect(md).toContain(`| ${r.arn} (pipeline-foundation: AccessLogBucket) | use | service logging.s3.amazonaws.com | s3:PutObject | pipeline-foundation: AccessLogBucketPolicy/S3DeliversAccessLogs |`);
      }
    });
  }

  it('the summary counts paths and requests each, the refused ones apart (R3)', () => {
    const c = compileFile('parameters/example.yaml');
    const md = c.files.get('audit/report.md')!;
    const paths = c.access.paths.length;
    const refusedPaths = c.access.paths.filter((p) => p.denied).length;
    const requests = c.access.results.length;
    const refusedRequests = c.access.results.filter((r) => r.path.denied).length;
    expect(refusedPaths).not.toBe(refusedRequests);
    // A condition met for some of a reach row's actions names them: the trusts' Null aws:SourceIdentity holds the
    // carried source identity, not the AssumeRole beside it (review s36-audit F5).
    const assumeRows = md.split('\n').filter((l) => l.startsWith('| arn:aws:iam::111111111111:role/acme-developer (access-roles: DeveloperRoleIn111111111111) | assume |'));
    expect(assumeRows.length).toBeGreaterThan(0);
    for (const row of assumeRows) {
      expect(row).toContain('| sts:AssumeRole, sts:SetSourceIdentity |');
      // The trust's exclusions are said with it: another permission set, a deeper path (review s58-audit m4).
      expect(row.endsWith(
        '| own policy outside the org file; ArnNotLike aws:PrincipalArn = arn:aws:iam::555555555555:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_Developer_*_* \\| arn:aws:iam::555555555555:role/aws-reserved/sso.amazonaws.com/*/*/*; Null aws:SourceIdentity = false (sts:SetSourceIdentity only) |',
      ), row).toBe(true);
    }
    // In the release table, one permission set is its trust's two patterns, its sample roles left out.
    expect(md).toContain('assumed by arn:aws:iam::555555555555:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Developer_*, arn:aws:iam::555555555555:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Developer_*;');
    expect(md).not.toMatch(/assumed by [^|]*AWSReservedSSO_Developer_x0/);
    // A Deny that narrows an Allow of some accounts only goes with it, not into every account (review s36-audit F4).
    expect(md).toContain("CloudFormation's own reads, its statement and the Denies are in every account, but for a Deny that narrows an Allow of some accounts only, which goes with it");
    // What "retained" means, RetainExceptOnCreate's rollback included, said once before the stages (review s36-audit).
    expect(md).toContain('"retained" marks a DeletionPolicy of Retain or RetainExceptOnCreate: the resource stays in its account when its stack, or the stack instance, is deleted');
    expect(md).toContain('if that one is rolled back, CloudFormation deletes the resource');
    // Of the allowed, those whose other side is outside the org file (a key administrator's own policy, AWS's bucket) apart (review s36-audit F3).
    // The undecided (the execution role's key action bootstrap's policy does not grant, review s36-diff m1) apart too.
    const undecided = c.access.results.filter((r) => r.path.outsideDecides).length;
    expect([c.access.paths.filter((p) => p.outsideDecides).length, undecided]).toEqual([3, 3]);
    const oneSide = c.access.results.filter((r) => !r.path.denied && !r.path.outsideDecides && (r.path.identityManagedElsewhere || r.path.resourceManagedElsewhere)).length;
    expect(oneSide).toBeGreaterThan(0);
    const allowed = requests - refusedRequests - undecided;
    expect(md).toContain(
      `- ${paths} access paths: ${paths - refusedPaths - 3} the org needs, each allowed, ${refusedPaths} that must be refused, each refused, and 3 undecided; ${requests} requests proved (${allowed} allowed: ${allowed - oneSide} on both sides, ${oneSide} on the side the templates hold, the other outside the org file; ${refusedRequests} refused, each as it must be; 3 undecided: the resource side admits them, the principal's policy as xstack writes it does not grant them, and a policy attached outside the org file would decide).`,
    );

  });

  it("the developer role's rows on each repository say the protected branches are refused, naming the Deny (R4)", () => {
    const c = compileFile('parameters/example.yaml');
    const md = c.files.get('audit/report.md')!;
    const rows = md.split('\n').filter((l) => l.startsWith('| arn:aws:codecommit:') && l.includes('| use | arn:aws:iam::111111111111:role/acme-developer |'));
    expect(rows.length).toBe(c.org.repositories.length);
    for (const row of rows) {
      expect(row).toContain('codecommit:GitPush');
      expect(row).toMatch(/refused codecommit:GitPush, [^|]*codecommit:MergePullRequestByThreeWay where [^|]*codecommit:References = refs\/heads\/main \\\| refs\/heads\/release[^|]*\(explicit Deny access-roles: DeveloperRole\w+\/DenyWritesToProtectedBranches\) \|$/);
      // Reads are not among the refused.
      expect(row.slice(row.indexOf('refused'))).not.toContain('codecommit:GitPull');
    }
  });

  it('the execution role section and the scope say who may act as the execution role and who reads with the reader role (review s27-bootstrap M2)', () => {
    const md = compileFile('parameters/example.yaml').files.get('audit/report.md')!;
    const section = md.split('<a id="execution-role"></a>')[1].split('<a id=')[0];
    expect(section).toContain('`xstack bootstrap` trusts on it the administration role alone (and, after `bootstrap --allow-delete-retained`, the identity that ran that, for `destroy --delete-retained`)');
    expect(section).toContain(`acme-xstack-reader, which may only read: ${READER_ACTIONS.join(', ')}, on the org's instance stacks`);
    const who = md.split('\n').find((l) => l.startsWith('| Who may assume the StackSet execution role'))!;
    expect(who).toContain("the administrator account's administration role alone");
    expect(who).toContain('trusted instead on the reader role acme-xstack-reader, which only reads');
    expect(who).not.toContain('the identities that ran bootstrap, each by aws:PrincipalArn');
  });

  it('the execution role section names the statements not limited to the org\'s resources, what they reach and their destructive actions (review s22 A2)', async () => {
    const { executionPolicyFor } = await import('../src/deploy/execution-policy');
    for (const file of ORG_FILES) {
      const c = compileFile(file);
      const md = c.files.get('audit/report.md')!;
      const section = md.split('<a id="execution-role"></a>')[1].split('<a id=')[0];
      const rowOf = (sid: string) => section.split('\n').find((l) => l.startsWith(`| ${sid} | every `));
      const statements = executionPolicyFor(c.stages.map((s) => renderTemplate(s.definition)), c.org.prefix);
      // A statement on the org's names has no row.
      for (const s of statements.filter((x) => x.Effect === 'Allow' && x.Sid.endsWith('Named'))) expect(rowOf(s.Sid), s.Sid).toBeUndefined();
    }
    const section = compileFile('parameters/example.yaml').files.get('audit/report.md')!.split('<a id="execution-role"></a>')[1].split('<a id=')[0];
    expect(section).toContain("Not limited to the org's resources: Ec2GeneratedIds, KmsGeneratedIds, EventsWithoutResourceTypes");
    expect(section).toMatch(
      /\| KmsGeneratedIds \| every KMS key of the account and Region whose key policy lets IAM policies allow access, as AWS's default key policy does \(https:\/\/docs\.aws\.amazon\.com\/kms\/latest\/developerguide\/key-policy-default\.html\) \| every pipeline account \(3\) \| [^|]*kms:PutKeyPolicy, kms:ScheduleKeyDeletion \|/,
    );
    expect(section).toMatch(/\| Ec2GeneratedIds \| every EC2 resource of the account and Region [^|]*\| 1 account: tools \| [^|]*ec2:DeleteFlowLogs, [^|]*ec2:DeleteVpc, ec2:DeleteVpcEndpoints, [^|]*ec2:ModifyVpcEndpoint, [^|]*\|/);
    // What redirects or opens another team's network is named too (review s22-diff D6).
    const ec2Row = section.split('\n').find((l) => l.startsWith('| Ec2GeneratedIds | every '))!;
    for (const action of ['ec2:ReplaceRoute', 'ec2:CreateRoute', 'ec2:AuthorizeSecurityGroupIngress', 'ec2:DeleteFlowLogs']) expect(ec2Row).toContain(action);
    expect(ec2Row).not.toContain('ec2:DescribeVpcs');
    // The CI network's log group is named (review s37-execution X2): the logs writes reach it alone, no other group of the
    // CI account, and the proof says so. Unlinking a log group's key is not among them: no log group of the templates has
    // one (review s30-execution E2).
    expect(section).not.toContain('| LogsAccount |');
    const logsNamed = section.split('\n').find((l) => l.startsWith('| LogsNamed | '))!;
    expect(logsNamed).toContain('| arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:acme-ci-flow-logs-* |');
    expect(logsNamed).not.toContain('logs:DisassociateKmsKey');
    for (const action of ['logs:DeleteLogGroup', 'logs:PutRetentionPolicy']) expect(section).toContain(`| ${action} | arn:aws:logs:eu-west-1:222222222222:log-group:someone-elses-log-group | refused |`);
  });

  it('the scope section names who operates the instances whose roles the templates give Session Manager and Run Command, and XS005 no longer overstates (review s22 A3)', () => {
    const c = compileFile('parameters/example.yaml');
    const md = c.files.get('audit/report.md')!;
    const row = md.split('\n').find((l) => l.startsWith('| Who may open a session on, or send commands to, the instances of these roles'))!;
    // Read from the compiled policies: the CI instance role holds Session Manager's channels, the deployment targets' also Run Command's and State Manager's.
    const holds = (role: string, prefix: string) => c.access.grants.some((g) => g.kind === 'identity' && g.attachedTo?.endsWith(`:role/${role}`) && g.actions.some((a) => a.startsWith(prefix)));
    expect([holds('acme-ci-instance', 'ssmmessages:'), holds('acme-ci-instance', 'ec2messages:'), holds('acme-deploy-target', 'ec2messages:')]).toEqual([true, false, true]);
    expect(row).toContain('these roles: acme-ci-instance (ssm:StartSession, ssm:SendCommand); acme-deploy-target (ssm:StartSession, ssm:SendCommand, ssm:CreateAssociation) |');
    expect(row).toContain('It needs no iam:PassRole and changes no trust or policy.');
    expect(row).toContain('Through the CI instance role that is the pull-only role of every source account.');
    expect(row).toContain('whatever the branch and the pipeline under "Release control" say');
    for (const url of ['https://github.com/aws/amazon-ssm-agent/releases/tag/2.3.68.0', 'https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-security-credentials.html']) expect(row).toContain(url);
    // The XS005 exception says who EC2 gives the role to, and who acts as it.
    expect(md).not.toContain('the role can only be used through an instance profile of this account');
    expect(md).toContain('EC2 gives the role only to an instance profile of this account, and whoever controls an instance with that profile (a session, a command, the instance metadata) acts as it |');
  });

  it("a role whose policy opens Run Command's channel alone (ec2messages) is named for ssm:SendCommand (review s41-mutations-3 SP1)", () => {
    const agent: ResolvedStatement = { stage: 'x', account: '222222222222', policy: 'Role/AgentCommands', kind: 'identity', effect: 'Allow', attachedTo: 'arn:aws:iam::222222222222:role/commands-only', principals: [], actions: ['ec2messages:GetMessages'], resources: ['*'], conditions: {} };
    const rows = scopeSection(loadOrgFile('parameters/example.yaml'), [agent]).blocks.flatMap((b) => (b.kind === 'table' ? b.rows : []));
    expect(rows.map((r) => r[0])).toContain('Who may open a session on, or send commands to, the instances of these roles: commands-only (ssm:SendCommand)');
  });

  it('the scope section says a key or bucket policy admitting by aws:PrincipalArn admits any role later created under the name (review s22 A6)', () => {
    const row = compileFile('parameters/example.yaml').files.get('audit/report.md')!.split('\n').find((line) => line.startsWith('| Account administrators with IAM rights'))!;
    expect(row).toContain('one that can create a role of one of those names (where none exists, or after deleting it), and give it a policy that allows the key, reaches the keys too.');
    // The pipeline role and the deployment targets' role too (review s50-templates N1; s30-audit M6 said they were Principal elements).
    const foundation = readFileSync('dist/example/templates/pipeline-foundation.yaml', 'utf8');
    for (const sid of ['PipelineRoleUsesKey', 'DeployTargetsDecryptViaS3']) expect(foundation.split(`- Sid: ${sid}\n`)[1].split('- Sid:')[0]).toContain('aws:PrincipalArn');
    expect(row).toContain('Every one of those roles is admitted by aws:PrincipalArn, which matches any role of that name, not the role of today (so that the key policy admits a role of that name made again by another StackSet or by hand, its own policies attached again');
    expect(row).not.toContain('named in the Principal element');
  });

  it('the execution role section says it can write any policy and trust on the roles it administers (R5)', () => {
    for (const file of ORG_FILES) {
      const c = compileFile(file);
      const md = c.files.get('audit/report.md')!;
      const section = md.split('<a id="execution-role"></a>')[1].split('<a id=')[0];
      expect(section).toContain('iam:PutRolePolicy, iam:AttachRolePolicy, iam:UpdateAssumeRolePolicy');
      expect(section).toContain('AdministratorAccess included');
      expect(section).toContain('it is in effect an administrator of those roles and of everything they can reach in its account');
    }
  });

  it('the scope section says the keys are reached through every role their policies name, administrators and users (R6, review s15 F3)', () => {
    for (const file of ORG_FILES) {
      const c = compileFile(file);
      const row = c.files.get('audit/report.md')!.split('\n').find((line) => line.startsWith('| Account administrators with IAM rights'))!;
      expect(row).toContain(`the key administrators (${[...c.org.keyAdministratorRoles, c.org.stackSets.executionRoleName].join(', ')})`);
      // Every role the compiled key policy names, by the name after role/ (a source role's with its account as ${AWS::AccountId}).
      const foundation = renderTemplate(c.stages.find((s) => s.id === 'pipeline-foundation')!.definition);
      const policy = (foundation.Resources.ArtifactKey.Properties as { KeyPolicy: { Statement: unknown[] } }).KeyPolicy;
      const named = [...JSON.stringify(policy).matchAll(/:role\/([\w+=,.@${}:-]+)/g)].map((m) => m[1].replace('${AWS::AccountId}', '<pipeline account>'));
      expect(named.length).toBeGreaterThan(3);
      for (const role of new Set(named)) expect(row).toContain(role);
      expect(row).toContain("A principal that can change any of those roles' trust or policies reaches the keys through them. Every one of those roles is admitted by aws:PrincipalArn");
    }
  });

  it('with a NAT gateway the endpoint policies are not a boundary: other Regions and the global STS endpoint go out through the NAT gateway (R7)', () => {
    const nat = compileFile('parameters/example.yaml').files.get('audit/report.md')!;
    const section = (md: string) => md.split('<a id="network"></a>')[1].split('\n\n| endpoint')[0];
    expect(section(nat)).toContain('the global STS endpoint (sts.amazonaws.com');
    expect(section(nat)).toContain('leave through the NAT gateway and pass no endpoint policy');
    expect(section(nat)).toContain('https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sts_vpc_endpoint_create.html');
    expect(section(nat)).not.toContain('Every request the CI host sends');
    const isolated = compileFile('parameters/govcloud.yaml').files.get('audit/report.md')!;
    expect(section(isolated)).toContain('Every request the CI host sends to AWS from the CI network (stage ci-network) goes through one of these endpoints: the network is isolated, with no route out. DNS queries through the VPC\'s own resolver still reach public names, a channel no endpoint policy sees');
  });

  it("someone else's role is refused by the resource side alone, its own policies said to be outside the model (R8)", () => {
    const c = compileFile('parameters/example.yaml');
    const md = c.files.get('audit/report.md')!;
    // The samples: role/someone-elses outside the org, and beside an org's role its name and -someone-elses (needs.ts someoneElsesRole).
    const theirs = c.access.results.filter((r) => r.path.principal.kind === 'aws' && /[/-]someone-elses(-\d{12})?$/.test(r.path.principal.arn) && r.path.identityManagedElsewhere && !r.allowed);
    expect(theirs.length).toBeGreaterThan(0);
    expect(theirs.some((r) => r.path.principal.kind === 'aws' && r.path.principal.arn.endsWith(':role/acme-event-forwarder-someone-elses'))).toBe(true);
    for (const r of theirs) {
      expect(r.refusedBy, r.path.purpose).toEqual({ missing: 'resource', identityElsewhere: true });
      const row = md.split('\n').find((l) => l.startsWith(`| ${r.path.purpose} |`))!;
      expect(row).toContain("| **refused** | no Allow on the resource side (its trust, key, bucket, queue or bus policy), which alone refuses it: the principal's own policies are outside the org file |");
    }
  });

  it('an allowed path proved on the resource side only says its identity side is outside the org file (R9)', () => {
    const c = compileFile('parameters/example.yaml');
    const md = c.files.get('audit/report.md')!;
    const admin = md.split('\n').filter((l) => /^\| platform-admin administers the artifact key /.test(l));
    expect(admin.length).toBeGreaterThan(0);
    for (const row of admin) expect(row).toMatch(/\| allowed \| pipeline-foundation: ArtifactKey\/AdministerKey; identity side outside the org file \(see "What this report cannot see"\) \|$/);
    // The execution role's own policy is bootstrap's: its administration is asked of what that policy grants, and what
    // only the key policy admits is a row of its own that says so (review s36-audit F2).
    const execution = md.split('\n').filter((l) => /^\| AWSCloudFormationStackSetExecutionRole administers the artifact key /.test(l));
    expect(execution).toHaveLength(3);
    for (const row of execution) {
      expect(row).toContain('| kms:CreateAlias, kms:DeleteAlias, ');
      expect(row).not.toContain('kms:CancelKeyDeletion');
    }
    const lever = md.split('\n').filter((l) => l.startsWith("| the key policy also admits AWSCloudFormationStackSetExecutionRole to kms:CancelKeyDeletion, which bootstrap's policy does not grant it: only a policy added to the role outside the org file would (the way back from a scheduled key deletion) ("));
    expect(lever).toHaveLength(3);
    // Undecided, not allowed: the key policy admits it, bootstrap's policy does not grant it (review s36-diff m1).
    for (const row of lever) expect(row).toMatch(/\| kms:CancelKeyDeletion \| undecided \| pipeline-foundation: ArtifactKey\/AdministerKey; identity side: bootstrap's policy does not grant it, and a policy attached to the role outside the org file decides \|$/);
    const summary = md.split('\n').find((l) => l.includes(' access paths: '))!;
    expect(summary).toMatch(/, and 3 undecided; \d+ requests proved \(.*; 3 undecided: the resource side admits them, /);
    // "Who can act on each resource" agrees: the execution role's key rows are asked of bootstrap's policy, which it is
    // (SELF_MANAGED), so they list no kms:CancelKeyDeletion and no "own policy outside the org file" (review s36-diff m2).
    const keyRows = md.split('\n').filter((l) => /^\| arn:aws:kms:eu-west-1:\d{12}:key\/\{pipeline-foundation\/ArtifactKey\} \(pipeline-foundation: ArtifactKey\) \| administer \| arn:aws:iam::\d{12}:role\/AWSCloudFormationStackSetExecutionRole \|/.test(l));
    expect(keyRows).toHaveLength(3);
    for (const row of keyRows) {
      expect(row).not.toContain('kms:CancelKeyDeletion');
      expect(row).toContain('kms:ScheduleKeyDeletion');
      expect(row).not.toContain('own policy outside the org file');
    }
    // Proved by class too (more accounts than the report lists), its deploying row included (review s36-delta n2).
    const big = compileGenerated(14).files.get('audit/report.md')!;
    const executionRows = big.split('\n').filter((l) => /^\| .* \| arn:aws:iam::[^|]*:role\/AWSCloudFormationStackSetExecutionRole \| /.test(l));
    // A class's resources among them: the source account's roles named by each pipeline account.
    expect(executionRows.some((l) => l.includes('role/big-source-{account}'))).toBe(true);
    for (const row of executionRows) expect(row).not.toContain('own policy outside the org file');
    // And its rows list what bootstrap's IamNamed grants on them, as account by account: its twelve `?` take the class's
    // token, which stands for twelve digits (review s36-delta n2: the rows listed cloudformation:* alone).
    const sourceRoleRows = executionRows.filter((l) => l.startsWith('| arn:aws:iam::900000000000:role/big-source-{account} '));
    expect(sourceRoleRows.find((l) => l.includes('| administer |'))).toMatch(/\| iam:AttachRolePolicy, iam:CreateRole, .*cloudformation:\* \(deploys the stage\) \| bootstrap: IamNamed; StackSet execution role of /);
    expect(sourceRoleRows.find((l) => l.includes('| use |'))).toContain('| iam:GetRole, iam:GetRolePolicy, iam:ListAttachedRolePolicies, iam:ListRolePolicies | bootstrap: IamNamed |');
    // Proved on both sides: no such note.
    const both = md.split('\n').find((l) => l.startsWith('| the source role writes the source artifact'))!;
    expect(both).not.toContain('outside the org file');
  });

  it("the bus policy's statement is named by its StatementId, as EventBridge keeps it (R10)", () => {
    const c = compileFile('parameters/example.yaml');
    const md = c.files.get('audit/report.md')!;
    expect(md).not.toContain('(no Sid)');
    expect(md).toContain(`CodeCommitEventsBusPolicy/${c.org.prefix}-codecommit-events`);
  });

  it('the rollout graph and the resource count say what they prove (R11, R13)', () => {
    const md = compileFile('parameters/example.yaml').files.get('audit/report.md')!;
    expect(md).not.toContain('Every principal a policy names is created by an earlier stage');
    expect(md).toContain('roles named only in aws:PrincipalArn conditions, which AWS does not look up, need not exist yet');
    expect(md).toMatch(/^- \d+ keys, buckets, repositories, roles, event bus policies, events dead-letter queues and instance profiles the org creates/m);
  });
});

describe('what is deployed: verify, and the same by hand (review s30-audit M5)', () => {
  it.each(ORG_FILES)('%s: the row names the StackSets as the deployer names them, and the calls that list their instances and check their drift', (file) => {
    const c = compileFile(file);
    const row = c.files.get('audit/report.md')!.split('\n').find((l) => l.startsWith('| What is deployed |'))!;
    expect(row).toContain('`xstack verify` (template hashes, instance lists and each instance CURRENT, StackSet drift detection)');
    // Every StackSet deploy makes is <prefix>-<stage>, as the row says.
    for (const d of desiredStackSets(c)) expect(d.name).toBe(`${c.org.prefix}-${d.stage.id}`);
    expect(row).toContain(`\`aws cloudformation list-stack-instances --stack-set-name ${c.org.prefix}-<stage>\``);
    expect(row).toContain(`\`aws cloudformation detect-stack-set-drift --stack-set-name ${c.org.prefix}-<stage>\``);
  });
});

describe('what the report cannot see: the administrator account and the roles services assume (review s30-audit)', () => {
  const scopeRows = (md: string) => md.split('<a id="scope"></a>')[1].split('<a id=')[0].split('\n');

  for (const file of ORG_FILES) {
    it(`${file}: a scope row names the administrator account and its administration role, and says whoever runs StackSets there or deploys the org file rewrites every stage (M4)`, () => {
      const c = compileFile(file);
      const row = scopeRows(c.files.get('audit/report.md')!).find((l) => l.startsWith('| Who may run StackSets operations'))!;
      expect(row, 'the administration account row').toBeDefined();
      expect(row).toContain(`administration role ${c.org.stackSets.administrationRoleName}`);
      // The org file does not name the account: the row says which account it is, and where a deploy records it.
      expect(row).toContain('it is the account whose credentials `xstack bootstrap` and `xstack deploy` run with');
      expect(row).toContain(`aws iam get-role --role-name ${c.org.stackSets.administrationRoleName}`);
      expect(row).toContain(`stackset/${c.org.prefix}-*`);
      expect(row).toContain('rewrites every stage');
      expect(row).toContain('run `xstack deploy`');
      expect(row).toContain('https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html');
    });
  }

  it('where a deploy recorded the administrator account in the layout file, the row points there but is the same: the compile does not depend on the record (M4; test/layout.test.ts)', () => {
    const c = compileFile('parameters/example.yaml');
    const org = { ...c.org, layoutRecord: recordOf(c.org, { account: '999999999999', region: 'eu-west-1' }) };
    const rowOf = (o: Org) => scopeSection(o, c.access.grants).blocks.flatMap((b) => (b.kind === 'table' ? b.rows : [])).find((r) => String(r[0]).startsWith('Who may run StackSets operations'))!;
    const row = rowOf(org);
    expect(row).toEqual(rowOf(c.org));
    expect(row[1]).toContain('each deploy records it (with its Region) in parameters/example.layout.json, as org.administratorAccount (and org.stackSetsRegion)');
    expect(JSON.stringify(row)).not.toContain('999999999999');
    // The StackSets' Region is deploy's --region, which may not be the org's (review s57-deploy m6).
    expect(row[2]).toContain('arn:aws:cloudformation:<StackSets Region>:<administrator account>:stackset/acme-*');
    expect(row[2]).toMatch(/^In the administrator account: /);
    // A service-managed StackSet is the management account's, whoever made it.
    const serviceManaged = rowOf({ ...c.org, stackSets: { ...c.org.stackSets, permissionModel: 'SERVICE_MANAGED' } });
    expect(serviceManaged[2]).toContain('arn:aws:cloudformation:<StackSets Region>:<management account>:stackset/acme-*');
    expect(serviceManaged[2]).toMatch(/^In the management account, and in each delegated administrator: /);
  });

  it("any StackSet of the administrator account that acts as the administration role reaches the execution roles: with AWS's default name any StackSet creator, with another name a caller allowed iam:PassRole on it (review s32-escalation M1)", () => {
    const c = compileFile('parameters/example.yaml');
    const rowOf = (o: Org) => scopeSection(o, c.access.grants).blocks.flatMap((b) => (b.kind === 'table' ? b.rows : [])).find((r) => String(r[0]).startsWith('Who may run StackSets operations'))!;
    expect(c.org.stackSets.administrationRoleName).toBe('AWSCloudFormationStackSetAdministrationRole');
    const byDefault = rowOf(c.org);
    expect(byDefault[1]).toContain('any principal of that account allowed to create a StackSet and its instances reaches the execution roles; name another stackSets.administrationRoleName, and iam:PassRole on it becomes the gate');
    expect(byDefault[2]).toContain('describe-stack-set for each (AdministrationRoleARN');
    expect(byDefault[2]).toContain('on iam:PassRole for the role AWSCloudFormationStackSetAdministrationRole');
    const own = rowOf({ ...c.org, stackSets: { ...c.org.stackSets, administrationRoleName: 'acme-stacksets-admin' } });
    expect(own[1]).toContain('with a name of its own, a StackSet acts as acme-stacksets-admin only for a caller allowed iam:PassRole on it');
    expect(own[1]).not.toContain("AWS's default name");
  });

  for (const file of ORG_FILES) {
    it(`${file}: "who may pass the roles services assume" names every role a template makes trust a service, with the call that passes it (m2)`, () => {
      const c = compileFile(file);
      const row = scopeRows(c.files.get('audit/report.md')!).find((l) => l.startsWith('| Who may pass the roles services assume'))!;
      const listed = row.split(' | ')[0];
      const names = new Names(c.org.prefix);
      const perPipeline = new Map(c.org.pipelines.flatMap((p) => [[names.triggerRole(p.name), names.triggerRole('<pipeline>')], [names.codeDeployRole(p.name), names.codeDeployRole('<pipeline>')]]));
      const trusting = c.access.grants.filter((g) => g.kind === 'trust' && g.effect === 'Allow' && g.principals.some((p) => p.kind === 'service'));
      const roles = new Set(trusting.flatMap((g) => g.resources.map((arn) => arn.slice(arn.indexOf(':role/') + 6))).map((r) => perPipeline.get(r) ?? r));
      expect(roles).toContain(names.eventForwarderRole());
      expect(roles).toContain(names.flowLogRole());
      for (const role of roles) expect(listed, role).toMatch(new RegExp(`[(, ]${role.replace(/[<>-]/g, '\\$&')}[,)]`));
      expect(row).toContain(`for ${names.eventForwarderRole()}, ${names.triggerRole('<pipeline>')} (EventBridge), events:PutTargets`);
      expect(row).toContain(`for ${names.flowLogRole()} (VPC Flow Logs), ec2:CreateFlowLogs`);
    });
  }
});

describe('the summary\'s count and the hash section say what they hold (review s30-audit m3, m4)', () => {
  for (const file of ORG_FILES) {
    it(`${file}: the resource count names every kind it counts, the events dead-letter queues included (m3)`, () => {
      const c = compileFile(file);
      const md = c.files.get('audit/report.md')!;
      const templates = new Map(c.stages.map((s) => [s.id, renderTemplate(s.definition)]));
      const resources = orgResources(c.org, c.stages, templates, classesOf(c.access));
      const queues = resources.filter((r) => r.kind === 'queue');
      expect(queues.length).toBeGreaterThan(0);
      const line = md.split('\n').find((l) => l.startsWith(`- ${resources.length} keys, `))!;
      expect(line, 'the summary line counts every resource listed').toBeDefined();
      expect(line).toContain('events dead-letter queues');
      expect(md).toContain('For every key, bucket, repository, role, event bus policy, events dead-letter queue and instance profile the org creates');
    });

    it(`${file}: the hash section lists every file the manifest hashes but the audit files, and says verify compares the templates only (m4)`, () => {
      const c = compileFile(file);
      const md = c.files.get('audit/report.md')!;
      const section = md.split('<a id="hashes"></a>')[1];
      const manifest = JSON.parse(c.files.get('manifest.json')!) as { files: Record<string, { sha256: string }> };
      const rows = [...section.matchAll(/^\| ([^|]+) \| ([0-9a-f]{64}) \|$/gm)].map((m) => [m[1], m[2]] as const);
      const expected = Object.entries(manifest.files).filter(([p]) => !p.startsWith('audit/')).map(([p, f]) => [p, f.sha256] as const);
      expect(expected.some(([p]) => p.startsWith('jenkins/'))).toBe(true);
      expect(new Map(rows)).toEqual(new Map(expected));
      expect(section).toContain('`xstack verify` compares only the templates with what is deployed');
      expect(section).toContain('the audit files (report.html, report.md, rollout.svg, audit.json');
      expect(section).toContain("the layout file's (source.layoutSha256)");
      expect(section).not.toContain('compares them with what is deployed');
    });
  }
});

describe("who can act: the execution role's own policy on buckets and roles (review s30-audit M7)", () => {
  for (const file of ORG_FILES) {
    it(`${file}: its rows on every bucket and role list what bootstrap's policy allows there directly, by statement, besides deploying the stage`, () => {
      const c = compileFile(file);
      const md = c.files.get('audit/report.md')!;
      const templates = new Map(c.stages.map((s) => [s.id, renderTemplate(s.definition)]));
      const resources = orgResources(c.org, c.stages, templates, classesOf(c.access));
      const execution = (account: string) => `arn:${c.org.partition}:iam::${account}:role/${executionRoleOf(c.org)}`;
      const rowOf = (r: (typeof resources)[number], reach: string) => md.split('\n').find((l) => l.startsWith(`| ${r.arn} (${r.stage}: ${r.logicalId}) | ${reach} | ${execution(r.account)} |`));
      const buckets = resources.filter((r) => r.kind === 'bucket');
      const roles = resources.filter((r) => r.kind === 'role');
      expect(buckets.length).toBeGreaterThan(0);
      expect(roles.length).toBeGreaterThan(0);
      for (const b of buckets) {
        const administer = rowOf(b, 'administer');
        expect(administer, b.arn).toMatch(/s3:PutBucketPolicy, [^|]*cloudformation:\* \(deploys the stage\) \| bootstrap: S3Named; StackSet execution role of /);
      }
      // Emptying a retained artifact bucket: object deletes on the artifact buckets (EmptyRetainedBuckets).
      for (const b of buckets.filter((r) => r.logicalId === 'ArtifactBucket')) expect(rowOf(b, 'use'), b.arn).toMatch(/s3:DeleteObject, [^|]*s3:DeleteObjectVersion[^|]*\| [^|]*bootstrap: EmptyRetainedBuckets/);
      for (const r of roles) {
        const administer = rowOf(r, 'administer')!;
        expect(administer, r.arn).toBeDefined();
        for (const action of ['iam:AttachRolePolicy', 'iam:PutRolePolicy', 'iam:UpdateAssumeRolePolicy']) expect(administer, `${r.arn} ${action}`).toContain(action);
        expect(administer).toContain('| bootstrap: IamNamed; StackSet execution role of ');
        // Only the actions IAM gives a role: the same statement's policy and instance-profile actions are not the role's.
        for (const action of ['iam:CreatePolicy', 'iam:AddRoleToInstanceProfile']) expect(administer, `${r.arn} ${action}`).not.toContain(action);
      }
      expect(md).toContain('its row also lists what the policy `xstack bootstrap` gives it allows on the resource directly, outside any deployment, each statement as "bootstrap: <Sid>"');
    });
  }

  /** The example's resources, and the StackSet execution role's ARN in an account. */
  const exampleReach = () => {
    const c = compileFile('parameters/example.yaml');
    const templates = new Map(c.stages.map((s) => [s.id, renderTemplate(s.definition)]));
    return { c, resources: orgResources(c.org, c.stages, templates, classesOf(c.access)), executionRole: (account: string) => `arn:${c.org.partition}:iam::${account}:role/${executionRoleOf(c.org)}` };
  };

  it("on a key, what bootstrap's policy grants is listed only where the key policy allows it too (review s41-mutations-3 RE4)", () => {
    const { c, resources, executionRole } = exampleReach();
    const key = resources.find((r) => r.kind === 'key')!;
    const role = executionRole(key.account);
    // A bootstrap statement on the key: the key policy lets the execution role administer it (kms:DescribeKey), not decrypt.
    const onKey: ResolvedStatement = { stage: 'bootstrap', account: key.account, policy: 'KeyUse', kind: 'identity', effect: 'Allow', attachedTo: role, principals: [], actions: ['kms:Decrypt', 'kms:DescribeKey'], resources: [key.arn], conditions: {} };
    const rows = reachOfResources(c.org, resources, c.access, undefined, [onKey]).filter((e) => e.resource === key && e.principal === role);
    const actions = rows.flatMap((e) => e.actions);
    expect(actions).toContain('kms:DescribeKey');
    expect(actions).not.toContain('kms:Decrypt');
  });

  it("a Deny with no condition in bootstrap's policy takes its actions off the rows listed as written (review s41-mutations-3 RE6)", () => {
    const { c, resources, executionRole } = exampleReach();
    const bucket = resources.find((r) => r.kind === 'bucket')!;
    const role = executionRole(bucket.account);
    const statement = (effect: 'Allow' | 'Deny', actions: string[]): ResolvedStatement => ({ stage: 'bootstrap', account: bucket.account, policy: `Bucket${effect}`, kind: 'identity', effect, attachedTo: role, principals: [], actions, resources: [bucket.arn], conditions: {} });
    const rows = reachOfResources(c.org, resources, c.access, undefined, [statement('Allow', ['s3:PutBucketTagging', 's3:PutBucketVersioning']), statement('Deny', ['s3:PutBucketVersioning'])]);
    const actions = rows.filter((e) => e.resource === bucket && e.principal === role).flatMap((e) => e.actions);
    expect(actions).toContain('s3:PutBucketTagging');
    expect(actions).not.toContain('s3:PutBucketVersioning');
  });

  it('with service-managed StackSets there is no bootstrap policy to list: the rows say the stage only', () => {
    const c = compileFile('parameters/example.yaml');
    const org = { ...c.org, stackSets: { ...c.org.stackSets, permissionModel: 'SERVICE_MANAGED' as const } };
    const templates = new Map(c.stages.map((s) => [s.id, renderTemplate(s.definition)]));
    const resources = orgResources(org, c.stages, templates, classesOf(c.access));
    const reach = reachOfResources(org, resources, c.access, undefined, bootstrapGrants(org, c.stages.flatMap((s) => s.targets.map((a) => a.id)), [], classesOf(c.access)));
    const bucket = resources.find((r) => r.kind === 'bucket')!;
    const entry = reach.find((e) => e.resource === bucket && e.principal.endsWith(`:role/${org.stackSets.executionRoleName}`))!;
    expect(entry.actions).toEqual(['cloudformation:* (deploys the stage)']);
  });
});

describe('protected-branch rows of a branch no pipeline deploys (review s30-audit m5)', () => {
  it('are labelled "protection only", naming the repository and the branch; a branch a pipeline of the repository deploys is not', () => {
    const c = compileFile('parameters/example.yaml');
    const md = c.files.get('audit/report.md')!;
    const protectedPaths = c.access.paths.filter((p) => p.need === 'developers-protected-branch' || p.need === 'maintainers-release');
    expect(protectedPaths.length).toBeGreaterThan(0);
    for (const p of protectedPaths) {
      const repository = p.resource.split(':').pop()!;
      const branch = p.context!['codecommit:References'][0].replace('refs/heads/', '');
      const deployed = c.org.pipelines.some((x) => x.repository === repository && x.branches.some(([, b]) => b === branch));
      expect(p.purpose.endsWith(` (protection only: no pipeline of ${repository} deploys ${branch})`), p.purpose).toBe(!deployed);
      expect(md, p.purpose).toContain(`| ${p.purpose} |`);
    }
    expect(md).toContain('| maintainers change release of payments-api (protection only: no pipeline of payments-api deploys release) |');
    expect(md).toContain('| maintainers change release of web-app |');
  });
});
