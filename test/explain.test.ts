/**
 * `xstack explain` answers from the same evaluator as the access proof: it
 * agrees with the report's access matrix on every row, cites the Deny of a
 * refused push, and answers wildcard questions.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explainer, renderAnswers, type Answer } from '../src/audit/explain';
import { executionPolicy, forAccount, resolvePolicy } from '../src/deploy/execution-policy';
import { buildReport } from '../src/audit/report';
import { rolloutSvg } from '../src/audit/svg';
import { renderTemplate } from '../src/cfn/template';
import { compileFile, compileGenerated, ORG_FILES, tempDir } from './helpers';
import { principalName, type ResolvedStatement } from '../src/audit/grants';
import { GrantIndex } from '../src/audit/evaluate';

describe('xstack explain', () => {
  for (const file of ORG_FILES) {
    it(`${file}: agrees with the access matrix on every row`, () => {
      const c = compileFile(file);
      const templates = new Map(c.stages.map((s) => [s.id, renderTemplate(s.definition)]));
      const report = buildReport({ org: c.org, stages: c.stages, templates, rollout: c.rollout, access: c.access, files: c.files, svg: rolloutSvg(c.stages, c.rollout) });
      const table = report.sections.find((s) => s.id === 'access')!.blocks.find((b) => b.kind === 'table')!;
      if (table.kind !== 'table') throw new Error('no access table');
      const ask = explainer(c);
      expect(table.rows.length).toBe(c.access.paths.length);
      for (const row of table.rows as string[][]) {
        const [purpose, principal, resource, actions, result, by] = row;
        const path = c.access.paths.find((p) => p.purpose === purpose)!;
        for (const action of actions.split(', ')) {
          const answers = ask({ principal: principal.replace(/^service /, ''), action, resource, context: path.context });
          const same = answers.filter((a) => a.path === purpose);
          expect(same.length, `${purpose}: ${action}`).toBe(1);
          expect(same[0].allowed ? 'allowed' : same[0].undecided ? 'undecided' : 'refused', `${purpose}: ${action}`).toBe(result);
          if (result === 'refused') expect(by).toContain(same[0].refusedBy);
          // Undecided: the resource side's statements, which admit it, are the row's.
          else if (result === 'undecided') for (const s of same[0].resourceSide) expect(by, `${purpose}: ${action}`).toContain(s);
          // The execution role's policy as bootstrap writes it is read beside the templates' (the matrix proves that role's resource side only).
          else for (const s of [...same[0].identitySide, ...same[0].resourceSide].filter((s) => !s.startsWith('bootstrap: '))) expect(by, `${purpose}: ${action}`).toContain(s);
        }
      }
    });
  }

  it("a deployed key's own ARN is read as the org's key of that account, as key/* is, and the answer says so", () => {
    const c = compileFile('parameters/example.yaml');
    const prod = c.org.accounts.find((a) => a.environment === 'prod')!.id;
    const ask = explainer(c);
    // The id `deploy` prints for the key (made by KMS at create): the compiled policies name the key by its logical id.
    const deployed = `arn:aws:kms:${c.org.region}:${prod}:key/80703bda-727f-4c7a-9c86-dcd116277dcc`;
    const decrypt = ask({ action: 'kms:Decrypt', resource: deployed });
    const byPattern = ask({ action: 'kms:Decrypt', resource: `arn:aws:kms:${c.org.region}:${prod}:key/*` });
    const allowed = (answers: Answer[]) => new Set(answers.filter((a) => a.allowed).map((a) => a.principal));
    expect(allowed(decrypt).size).toBeGreaterThan(0);
    expect(allowed(decrypt)).toEqual(allowed(byPattern));
    for (const a of decrypt) expect([a.resource, a.readAs]).toEqual([deployed, 'pipeline-foundation/ArtifactKey']);
    expect(renderAnswers(decrypt)).toContain("read as: the org's pipeline-foundation/ArtifactKey in that account");
    // The declared path's other key of the account is that key, refused to the source role as the matrix says.
    const other = ask({ action: 'kms:Decrypt', resource: `arn:aws:kms:${c.org.region}:${prod}:key/someone-elses` });
    expect(other.some((a) => a.allowed || a.readAs)).toBe(false);
    // Not a key of the org: another account's key, an alias (a resource of its own), a key id with a path in it.
    for (const other of [`arn:aws:kms:${c.org.region}:999999999999:key/80703bda`, `arn:aws:kms:${c.org.region}:${prod}:alias/acme-artifacts`, `${deployed}/x`]) {
      expect(ask({ action: 'kms:Decrypt', resource: other }).some((a) => a.allowed || a.readAs), other).toBe(false);
    }
  });

  it('wildcards: who may decrypt with the prod artifact key, and every refused push names the Deny', () => {
    const c = compileFile('parameters/example.yaml');
    const prod = c.org.accounts.find((a) => a.environment === 'prod')!.id;
    const ask = explainer(c);
    const decrypt = ask({ action: 'kms:Decrypt', resource: `arn:aws:kms:*:${prod}:key/*` });
    const allowed = new Set(decrypt.filter((a) => a.allowed).map((a) => a.principal));
    // Exactly the principals the declared paths let decrypt with it: the pipeline role, prod's source role and the deployment targets' role.
    const expected = new Set(c.access.paths.filter((p) => !p.denied && p.resource.includes(`:${prod}:key/`) && p.actions.includes('kms:Decrypt')).map((p) => (p.principal.kind === 'aws' ? p.principal.arn : '')));
    expect(expected.size).toBeGreaterThan(0);
    expect(allowed).toEqual(expected);
    // A bare role name is that role in any account: each key administrator may re-key every artifact key, its own policy permitting.
    for (const admin of c.org.keyAdministratorRoles) {
      const rekey = ask({ principal: admin, action: 'kms:PutKeyPolicy' });
      // The artifact keys (not a key of someone else's that a refused path names).
      const keys = c.access.paths.filter((p) => p.resource.includes(':key/') && !p.resourceManagedElsewhere).map((p) => p.resource);
      expect(new Set(rekey.filter((a) => a.allowed).map((a) => a.resource))).toEqual(new Set(keys));
      for (const a of rekey) expect(a.resourceSide[0]).toMatch(/^pipeline-foundation: ArtifactKey\/\w+$/);
    }
    // A push to a protected branch: refused to the developer role by its Deny, allowed to the maintainer role alone.
    const pushes = ask({ action: 'codecommit:GitPush', context: { 'codecommit:References': ['refs/heads/main'] } });
    const developer = pushes.filter((a) => a.principal.endsWith(':role/acme-developer'));
    expect(developer.length).toBeGreaterThan(0);
    for (const a of developer) {
      expect(a.allowed).toBe(false);
      expect(a.refusedBy).toMatch(/^denied by access-roles: DeveloperRole\w*\/\w+ \(explicit Deny\)$/);
    }
    expect(new Set(pushes.filter((a) => a.allowed).map((a) => a.principal))).toEqual(new Set(['arn:aws:iam::111111111111:role/acme-maintainer']));
  });

  it('an org proved by class: a member account named in the question is answered as the proof answered its class, with its own id', () => {
    const c = compileGenerated(200);
    expect(c.access.grants.some((g) => g.accounts)).toBe(true);
    const ask = explainer(c);
    const member = c.org.accounts.filter((a) => a.role === 'pipeline')[5].id;
    const other = c.org.accounts.filter((a) => a.role === 'pipeline')[6].id;
    const key = (account: string) => `arn:${c.org.partition}:kms:${c.org.region}:${account}:key/*`;
    const own = ask({ principal: `arn:${c.org.partition}:iam::${member}:role/*`, action: 'kms:Decrypt', resource: key(member) });
    expect(own.some((a) => a.allowed && a.principal.includes(`::${member}:role/`) && a.resource.includes(`:${member}:key/`))).toBe(true);
    expect(own.every((a) => !a.principal.includes('{account}') && !a.resource.includes('{account}'))).toBe(true);
    // The statements named are the templates' own logical ids: no class token left in them (review s18-audit M5).
    const assume = ask({ principal: `arn:${c.org.partition}:iam::${member}:role/${c.org.prefix}-pipeline`, action: 'sts:AssumeRole' });
    const named = assume.flatMap((a) => [...a.identitySide, ...a.resourceSide, a.refusedBy]);
    expect(named.some((n) => n.includes(member))).toBe(true);
    expect(named.filter((n) => /[\uE000-\uF8FF]/.test(n))).toEqual([]);
    // A pipeline role never decrypts another pipeline account's artifacts: two members of one class are asked account by account.
    const across = ask({ principal: `arn:${c.org.partition}:iam::${member}:role/${c.org.prefix}-pipeline`, action: 'kms:Decrypt', resource: key(other).replace('*', '{pipeline-foundation/ArtifactKey}') });
    expect(across.length).toBeGreaterThan(0);
    expect(across.every((a) => !a.allowed && a.refusedBy === 'no Allow on either side')).toBe(true);
    expect(across.every((a) => a.principal.includes(`::${member}:`) && a.resource.includes(`:${other}:`))).toBe(true);
  });

  it('an org proved by class: a question whose context names a member (aws:SourceAccount) is answered as the matrix answers that path, its context written with the id (review s37-evaluator E1)', () => {
    const c = compileGenerated(20);
    const ask = explainer(c);
    const member = c.org.accounts.filter((a) => a.role === 'pipeline')[3].id;
    // Every class path whose context names its account: asked with the member's id throughout, one answer, the matrix's result.
    const paths = c.access.paths.filter((p) => p.accounts && JSON.stringify(p.context ?? {}).includes(p.group!.account));
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.some((p) => p.context?.['aws:SourceAccount'])).toBe(true);
    for (const p of paths) {
      const write = (text: string) => text.replaceAll(p.group!.account, member);
      const context = Object.fromEntries(Object.entries(p.context!).map(([k, v]) => [k, v.map(write)]));
      for (const action of p.actions) {
        const principal = write(principalName(p.principal));
        const same = ask({ principal, action, resource: write(p.resource), context }).filter((a) => a.path === p.purpose);
        const results = c.access.results.filter((r) => r.path === p && r.action === action);
        expect(same.length, `${p.purpose}: ${action}`).toBe(1);
        expect(same[0].allowed, `${p.purpose}: ${action}`).toBe(results[0].allowed);
        expect(same[0].context, p.purpose).toEqual(context);
        expect(JSON.stringify(same[0])).not.toMatch(/[\uE000-\uF8FF]/);
      }
    }
  });

  it("a principal whose own policies are outside the org file, in its own account, with nothing allowing or refusing it in the templates: UNDECIDED, not refused (review s18-audit M1)", () => {
    const ask = explainer(compileFile('parameters/example.yaml'));
    const repo = 'arn:aws:codecommit:eu-west-1:111111111111:web-app';
    const main = { 'codecommit:References': ['refs/heads/main'] };
    const [admin] = ask({ principal: 'arn:aws:iam::111111111111:role/admin', action: 'codecommit:CreateCommit', resource: repo, context: main });
    expect(admin).toMatchObject({ allowed: false, undecided: true });
    expect(admin.refusedBy).toMatch(/^no statement of the templates allows or refuses it: the principal's own policies, outside the org file, decide/);
    // The developer role's own policy is the templates': refused, by its Deny.
    const [developer] = ask({ principal: 'arn:aws:iam::111111111111:role/acme-developer', action: 'codecommit:CreateCommit', resource: repo, context: main });
    expect(developer.undecided).toBeUndefined();
    expect(developer.refusedBy).toMatch(/^denied by access-roles: DeveloperRole/);
    // Another account's role with no grant: the resource side decides across accounts, refused.
    const [outsider] = ask({ principal: 'arn:aws:iam::999999999999:role/admin', action: 'codecommit:GitPull', resource: repo });
    expect([outsider.allowed, outsider.undecided]).toEqual([false, undefined]);
    expect(renderAnswers([admin, developer])).toContain('2 requests: 0 allowed, 1 refused, 1 undecided');
  });

  it("the execution role on its account's artifact key: what bootstrap's policy grants is allowed on both sides; what the key policy alone admits is undecided, by the path that says bootstrap's policy does not grant it (review s36-audit F2, s36-diff m1)", () => {
    const ask = explainer(compileFile('parameters/example.yaml'));
    const key = 'arn:aws:kms:eu-west-1:222222222222:key/{pipeline-foundation/ArtifactKey}';
    const principal = 'arn:aws:iam::222222222222:role/AWSCloudFormationStackSetExecutionRole';
    const [schedule] = ask({ principal, action: 'kms:ScheduleKeyDeletion', resource: key });
    expect(schedule).toMatchObject({ allowed: true, identitySide: ['bootstrap: KmsGeneratedIds'], resourceSide: ['pipeline-foundation: ArtifactKey/AdministerKey'], path: 'AWSCloudFormationStackSetExecutionRole administers the artifact key (dev)' });
    const [cancel] = ask({ principal, action: 'kms:CancelKeyDeletion', resource: key });
    expect(cancel).toMatchObject({ allowed: false, undecided: true, identitySide: [], resourceSide: ['pipeline-foundation: ArtifactKey/AdministerKey'] });
    expect(cancel.refusedBy).toMatch(/^the resource side admits it, and the execution policy `xstack bootstrap` writes does not grant it/);
    expect(renderAnswers([schedule, cancel])).toContain('2 requests: 1 allowed, 0 refused, 1 undecided');
    expect(cancel.path).toMatch(/^the key policy also admits AWSCloudFormationStackSetExecutionRole to kms:CancelKeyDeletion, which bootstrap's policy does not grant it/);
  });

  it('an account the org file does not name is asked both in and outside the organization: where an org-scoped condition decides, UNDECIDED, saying which way, and listed though no resource is named (review s37-diff m2, s37-delta m1)', () => {
    const c = compileFile('parameters/example.yaml');
    const bucket = 'arn:aws:s3:::acme-artifacts-222222222222-eu-west-1';
    const scoped = (effect: 'Allow' | 'Deny', operator: string): ResolvedStatement => ({
      stage: 'pipeline-foundation', account: '222222222222', policy: `ArtifactBucketPolicy/Org${effect}`, kind: 'bucket', effect,
      principals: [{ kind: 'any' }], actions: ['s3:GetObject'], resources: [`${bucket}/*`], conditions: { [operator]: { 'aws:PrincipalOrgID': ['o-a1b2c3d4e5'] } },
    });
    const withGrant = (g: ResolvedStatement) => explainer({ ...c, access: { ...c.access, grants: [...c.access.grants, g], index: new GrantIndex([g], c.access.index) } });
    const stranger = 'arn:aws:iam::123456789012:role/someone';
    // Allowed only in the organization: undecided, listed for a question that names no resource.
    const inside = withGrant(scoped('Allow', 'StringEquals'))({ principal: stranger, action: 's3:GetObject' }).filter((a) => a.resource.startsWith(bucket));
    expect(inside).toHaveLength(1);
    expect(inside[0]).toMatchObject({ allowed: false, undecided: true, resourceSide: ['pipeline-foundation: ArtifactBucketPolicy/OrgAllow'] });
    expect(inside[0].refusedBy).toBe('whether account 123456789012, which the org file does not name, is in the organization decides it: an org-scoped condition (aws:PrincipalOrgID, aws:ResourceOrgID) allows it only if it is');
    // A Deny for the organization's members, beside an Allow for anyone: allowed only outside it, undecided too, not ALLOWED.
    const both = scoped('Allow', 'StringLike');
    const anyone: ResolvedStatement = { ...both, policy: 'ArtifactBucketPolicy/Anyone', conditions: {} };
    const deny = scoped('Deny', 'StringEquals');
    const ask = explainer({ ...c, access: { ...c.access, grants: [...c.access.grants, anyone, deny], index: new GrantIndex([anyone, deny], c.access.index) } });
    const [outside] = ask({ principal: stranger, action: 's3:GetObject', resource: `${bucket}/x` });
    expect(outside).toMatchObject({ allowed: false, undecided: true });
    expect(outside.refusedBy).toMatch(/allows it only if it is not$/);
    expect(renderAnswers([outside])).toContain('1 request: 0 allowed, 0 refused, 1 undecided');
  });

  it("a context made from the statements' conditions names the resource's own account as aws:ResourceAccount, not the account a statement names (review s36-audit)", () => {
    const ask = explainer(compileFile('parameters/example.yaml'));
    const principal = 'arn:aws:iam::111111111111:role/acme-source-222222222222';
    const [staging] = ask({ principal, action: 's3:PutObject', resource: 'arn:aws:s3:::acme-artifacts-333333333333-eu-west-1/x' });
    expect(staging.context['aws:ResourceAccount']).toEqual(['333333333333']);
    expect(staging.allowed).toBe(false);
    const [dev] = ask({ principal, action: 's3:PutObject', resource: 'arn:aws:s3:::acme-artifacts-222222222222-eu-west-1/x' });
    expect([dev.allowed, dev.context['aws:ResourceAccount']]).toEqual([true, ['222222222222']]);
  });

  describe('the execution role, with the policy xstack bootstrap writes (review s18-audit M1)', () => {
    const c = compileFile('parameters/example.yaml');
    const ask = explainer(c);
    const role = (account: string) => `arn:${c.org.partition}:iam::${account}:role/${c.org.stackSets.executionRoleName}`;
    const source = c.org.accounts.find((a) => a.role === 'source')!.id;
    const repo = `arn:${c.org.partition}:codecommit:${c.org.region}:${source}:${c.org.repositories[0].name}`;
    /** The Sids of the source account's policy, as bootstrap resolves it, that allow `action` on `resource` by name. */
    const allowing = (action: string, resource: string) =>
      resolvePolicy(forAccount(executionPolicy(c), source), { partition: c.org.partition, account: source, region: c.org.region })
        .Statement.filter((s) => s.Effect === 'Allow' && s.Action.includes(action) && s.Resource.includes(resource))
        .map((s) => `bootstrap: ${s.Sid}`);

    it('allows it what its policy allows in its own account, named as bootstrap names it', () => {
      for (const action of ['codecommit:CreateRepository', 'codecommit:DeleteRepository']) {
        const expected = allowing(action, repo);
        expect(expected.length, action).toBe(1);
        const answers = ask({ principal: role(source), action, resource: repo });
        expect(answers.map((a) => [a.allowed, a.identitySide, a.resourceSide, a.reason]), action).toEqual([[true, expected, [], 'allowed within the account']]);
      }
    });

    it('is proposed without --principal: who may delete a repository is its account\'s execution role, and no other account\'s', () => {
      const answers = ask({ action: 'codecommit:DeleteRepository', resource: repo });
      expect(answers.filter((a) => a.allowed).map((a) => a.principal)).toEqual([role(source)]);
      const others = answers.filter((a) => a.principal.endsWith(`:role/${c.org.stackSets.executionRoleName}`) && a.principal !== role(source));
      expect(others.length).toBe(c.org.accounts.length - 1);
      for (const a of others) expect([a.allowed, a.undecided]).toEqual([false, undefined]);
    });

    it("bootstrap's actions are asked of the execution roles alone: a question naming only a resource does not ask every role for them", () => {
      const templateActions = new Set(c.access.grants.flatMap((g) => g.actions));
      const answers = ask({ resource: repo });
      const bootstrapOnly = answers.filter((a) => !templateActions.has(a.action));
      expect(bootstrapOnly.some((a) => a.action === 'codecommit:DeleteRepository' && a.allowed && a.principal === role(source))).toBe(true);
      expect(new Set(bootstrapOnly.map((a) => a.principal.replace(/::\d{12}:/, '::{account}:')))).toEqual(new Set([role('{account}')]));
    });

    it("its policy's Deny refuses, whatever else the role holds; where nothing of it speaks, the role's other policies decide", () => {
      const pathed = `arn:${c.org.partition}:iam::${source}:role/${c.org.prefix}-source-/${'x'.repeat(11)}`;
      const [denied] = ask({ principal: role(source), action: 'iam:PutRolePolicy', resource: pathed });
      expect(denied.allowed).toBe(false);
      expect(denied.refusedBy).toMatch(/^denied by bootstrap: \w+NoPathedNames \(explicit Deny\)$/);
      expect(allowing('codecommit:GitPush', repo)).toEqual([]);
      const [push] = ask({ principal: role(source), action: 'codecommit:GitPush', resource: repo, context: { 'codecommit:References': ['refs/heads/main'] } });
      expect(push).toMatchObject({ allowed: false, undecided: true });
      expect(push.refusedBy).toMatch(/^no statement of the templates, nor of the execution policy `xstack bootstrap` writes, allows or refuses it/);
    });

    it('with service-managed StackSets bootstrap writes no policy: UNDECIDED', () => {
      const text = readFileSync('parameters/example.yaml', 'utf8')
        .replace('permissionModel: SELF_MANAGED', 'permissionModel: SERVICE_MANAGED')
        .replace(/^ {2}administrationRoleName: .*\n/m, '')
        .replace(/^(    id: "\d{12}"\n)/gm, '$1    organizationalUnit: ou-ab12-cdef3456\n');
      const file = join(tempDir('explain-service-managed'), 'example.yaml');
      writeFileSync(file, text);
      const managed = compileFile(file);
      expect(managed.org.stackSets.executionRoleName).toBe(c.org.stackSets.executionRoleName);
      const [answer] = explainer(managed)({ principal: role(source), action: 'codecommit:DeleteRepository', resource: repo });
      expect(answer).toMatchObject({ allowed: false, undecided: true, identitySide: [] });
    });

    it('an org proved by class: a member\'s execution role, its own id in the answer, may change its own pipeline role and not another member\'s', () => {
      const g = compileGenerated(200);
      const [member, other] = g.org.accounts.filter((a) => a.role === 'pipeline').slice(5, 7).map((a) => a.id);
      const pipelineRole = (account: string) => `arn:${g.org.partition}:iam::${account}:role/${g.org.prefix}-pipeline`;
      const executionRole = (account: string) => `arn:${g.org.partition}:iam::${account}:role/${g.org.stackSets.executionRoleName}`;
      const gAsk = explainer(g);
      const [own] = gAsk({ principal: executionRole(member), action: 'iam:PutRolePolicy', resource: pipelineRole(member) });
      expect(own).toMatchObject({ allowed: true, principal: executionRole(member), resource: pipelineRole(member) });
      expect(own.identitySide.length).toBeGreaterThan(0);
      for (const s of own.identitySide) expect(s).toMatch(/^bootstrap: \w+$/);
      const [across] = gAsk({ principal: executionRole(member), action: 'iam:PutRolePolicy', resource: pipelineRole(other) });
      expect([across.allowed, across.principal, across.resource]).toEqual([false, executionRole(member), pipelineRole(other)]);
    });
  });

  describe('an action that names a branch, asked without codecommit:References (review s18-audit m6)', () => {
    const c = compileFile('parameters/example.yaml');
    const ask = explainer(c);
    const source = c.org.accounts.find((a) => a.role === 'source')!.id;
    const repo = `arn:${c.org.partition}:codecommit:${c.org.region}:${source}:${c.org.repositories[0].name}`;
    const protectedRefs = c.org.access.developers!.protectedBranches.map((b) => `refs/heads/${b}`);
    const branchOf = (a: Answer) => a.context['codecommit:References'];

    it('is asked for each protected branch and another, never without the branch', () => {
      for (const principal of ['acme-developer', 'acme-maintainer', `arn:${c.org.partition}:iam::${source}:role/${c.org.stackSets.executionRoleName}`]) {
        const answers = ask({ principal, action: 'codecommit:CreateCommit', resource: repo });
        expect(answers.every((a) => branchOf(a)?.length === 1), principal).toBe(true);
        const branches = answers.map((a) => branchOf(a)[0]);
        expect(branches.filter((b) => protectedRefs.includes(b)).sort(), principal).toEqual([...protectedRefs].sort());
        expect(branches.filter((b) => !protectedRefs.includes(b)).length, principal).toBe(1);
      }
      // The developer role: refused on each protected branch by its Deny, allowed on another.
      const developer = ask({ principal: 'acme-developer', action: 'codecommit:PutFile', resource: repo });
      for (const a of developer) expect([branchOf(a)[0], a.allowed]).toEqual([branchOf(a)[0], !protectedRefs.includes(branchOf(a)[0])]);
      expect(developer.filter((a) => !a.allowed).every((a) => /DenyWritesToProtectedBranches \(explicit Deny\)$/.test(a.refusedBy))).toBe(true);
    });

    it('says the branch was chosen; an action without the key, or a question naming the branch, is asked as it is', () => {
      // No access path asks the execution role's writes: each branch is explain's choice.
      const answers = ask({ principal: `arn:${c.org.partition}:iam::${source}:role/${c.org.stackSets.executionRoleName}`, action: 'codecommit:PutFile', resource: repo });
      expect(answers.map((a) => a.branchChosen).sort()).toEqual(['another', ...protectedRefs.map(() => 'named')]);
      const text = renderAnswers(answers);
      expect(text).toContain('(another branch, which no policy names)');
      expect(text).toMatch(/codecommit:References=refs\/heads\/main \(a branch the policies or protectedBranches name/);
      expect(ask({ principal: answers[0].principal, action: 'codecommit:GetRepository', resource: repo }).map((a) => a.context)).toEqual([{}]);
      const named = ask({ principal: 'acme-developer', action: 'codecommit:PutFile', resource: repo, context: { 'codecommit:References': ['refs/heads/topic'] } });
      expect(named.map((a) => [branchOf(a), a.branchChosen, a.allowed])).toEqual([[['refs/heads/topic'], undefined, true]]);
    });
  });

  it("a context key given twice is two values, printed in brackets; a value holding '|' is one value, printed as it is, so the two never read alike (review s50-audit m8)", () => {
    const run = (context: string) =>
      execFileSync('node', ['.build/src/cli.js', 'explain', 'parameters/example.yaml', '--principal', 'arn:aws:iam::111111111111:role/acme-developer', '--action', 'codecommit:GitPush', '--resource', 'arn:aws:codecommit:eu-west-1:111111111111:web-app', '--context', context], { encoding: 'utf8' });
    const two = run('codecommit:References=refs/heads/feature/x;codecommit:References=refs/heads/main');
    expect(two).toContain('REFUSED  arn:aws:iam::111111111111:role/acme-developer  codecommit:GitPush  arn:aws:codecommit:eu-west-1:111111111111:web-app\n  request context: codecommit:References=[refs/heads/feature/x, refs/heads/main]\n');
    const one = run('codecommit:References=refs/heads/feature/x|refs/heads/main');
    expect(one).toContain('  request context: codecommit:References=refs/heads/feature/x|refs/heads/main\n');
    expect(one).not.toContain('[');
  });

  it('the CLI prints allowed and refused answers with both sides, and refuses a resource of no known account', () => {
    const run = (...args: string[]) => execFileSync('node', ['.build/src/cli.js', 'explain', 'parameters/example.yaml', ...args], { encoding: 'utf8' });
    const out = run('--principal', 'arn:aws:iam::111111111111:role/acme-developer', '--action', 'codecommit:GitPush', '--resource', 'arn:aws:codecommit:eu-west-1:111111111111:web-app', '--context', 'codecommit:References=refs/heads/main');
    expect(out).toContain('REFUSED  arn:aws:iam::111111111111:role/acme-developer  codecommit:GitPush  arn:aws:codecommit:eu-west-1:111111111111:web-app');
    expect(out).toContain('refused: denied by access-roles: DeveloperRoleCodecommitDeveloperIn111111111111/DenyWritesToProtectedBranches (explicit Deny)');
    expect(out).toContain('identity side allows:');
    expect(out).toMatch(/\d+ requests?: 0 allowed, \d+ refused\./);
    expect(() => execFileSync('node', ['.build/src/cli.js', 'explain', 'parameters/example.yaml', '--resource', 'arn:aws:s3:::someone-elses-bucket'], { encoding: 'utf8', stdio: 'pipe' })).toThrow(/cannot tell which account owns 'arn:aws:s3:::someone-elses-bucket'/);
  });

  it('the CLI refuses an --action IAM does not have, with the nearest one, rather than answering that no request matches', () => {
    const run = (action: string) => spawnSync('node', ['.build/src/cli.js', 'explain', 'parameters/example.yaml', '--action', action], { encoding: 'utf8' });
    const typo = run('kms:Decrpyt');
    expect(typo.status).toBe(64);
    expect(typo.stderr).toContain("xstack: --action kms:Decrpyt: kms has no action 'Decrpyt' (did you mean kms:Decrypt?)");
    expect(run('kmz:Decrypt').stderr).toContain("IAM has no service 'kmz'");
    // Patterns and real actions are asked as they are.
    expect(run('kms:Decr*').status).toBe(0);
    expect(run('kms:Decrypt').status).toBe(0);
  });

  it('the CLI refuses an --action without service: (no wildcard) and an ARN no ARN can equal, with an example, rather than answering that no request matches; a --context key no statement reads is noted, the answer still given (review s38-cli M6)', () => {
    const run = (...args: string[]) => spawnSync('node', ['.build/src/cli.js', 'explain', 'parameters/example.yaml', ...args], { encoding: 'utf8' });
    const usage = (args: string[], message: string) => {
      const r = run(...args);
      expect([r.status, r.stdout, r.stderr], args.join(' ')).toEqual([64, '', `xstack: ${message}\n(run 'xstack explain --help' for usage)\n`]);
    };
    const expected = 'expected an IAM action, e.g. kms:Decrypt, or a pattern with * or ?, e.g. kms:* or *:Decrypt';
    usage(['--action', 'Decrypt'], `--action Decrypt is not service:Action; ${expected}`);
    usage(['--action', 'kms.Decrypt'], `--action kms.Decrypt is not service:Action (did you mean kms:Decrypt?); ${expected}`);
    const twelve = "ARNs name the 12-digit id of the account (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE, e.g. 123456789012)";
    usage(['--principal', 'arn:aws:iam::11111111111:role/acme-developer'], `--principal arn:aws:iam::11111111111:role/acme-developer has '11111111111' for its account, which is not a 12-digit account id; iam's ${twelve}`);
    usage(['--action', 'kms:Decrypt', '--resource', 'arn:aws:kms:eu-west-1:22222222222:key/*'], `--resource arn:aws:kms:eu-west-1:22222222222:key/* has '22222222222' for its account, which is not a 12-digit account id; kms's ${twelve}`);
    usage(['--resource', 'arn:aws:kms:eu-west-1::key/*'], `--resource arn:aws:kms:eu-west-1::key/* names no account; kms's ${twelve}`);
    usage(['--resource', 'arn:aws-us-gov:kms:us-gov-west-1:222222222222:key/*'], "--resource arn:aws-us-gov:kms:us-gov-west-1:222222222222:key/*: partition 'aws-us-gov' is not the org's; its ARNs are arn:aws:…");
    usage(['--principal', 'arn:aws:s3:::acme-bucket'], "--principal arn:aws:s3:::acme-bucket: a principal's ARN is IAM's or STS's (service 's3' has none); expected e.g. arn:aws:iam::123456789012:role/NAME");
    // Patterns, a bucket (no account in S3's ARNs) and a real ARN are asked as they are.
    // explain's * spans colons, so patterns of fewer parts too; a service prefix in capitals is IAM's (review s38-helpers-diff H1, H2).
    for (const args of [
      ['--action', 'Decr*'],
      ['--resource', 'arn:*:kms:*:222222222222:key/*'],
      ['--principal', 'arn:aws:iam::*:role/acme-developer', '--action', 'kms:*'],
      ['--action', 'kms:Decrypt', '--resource', 'arn:aws:kms:*'],
      ['--action', 'kms:Decrypt', '--resource', 'arn:*'],
      ['--action', 'kms:Decrypt', '--principal', 'arn:aws:iam::*'],
      ['--action', 'KMS:Decrypt'],
    ]) {
      expect(run(...args).status, args.join(' ')).toBe(0);
    }
    usage(['--action', 'kms:Decrypt', '--resource', 'arn:aws-cn:kms:*'], "--resource arn:aws-cn:kms:*: partition 'aws-cn' is not the org's; its ARNs are arn:aws:…");
    usage(['--principal', 'arn:aws:s3:*'], "--principal arn:aws:s3:*: a principal's ARN is IAM's or STS's (service 's3' has none); expected e.g. arn:aws:iam::123456789012:role/NAME");
    // A context key no statement reads: noted on stderr, the answer as without it.
    const ask = ['--principal', 'acme-developer', '--action', 'codecommit:GitPush'];
    const misspelt = run(...ask, '--context', 'codecommit:Refrences=refs/heads/main;aws:SourceAccount=111111111111', '--json');
    expect(misspelt.status).toBe(0);
    expect(misspelt.stderr).toBe('xstack: note: --context codecommit:Refrences: no statement of the compiled org reads this key, so it changes no answer (did you mean codecommit:References?)\n');
    expect((JSON.parse(misspelt.stdout) as Answer[]).length).toBeGreaterThan(0);
    const read = run(...ask, '--context', 'codecommit:References=refs/heads/main');
    expect([read.status, read.stderr]).toEqual([0, '']);
    // A key only a VPC endpoint's policy reads is read too (review s38-helpers-diff H7).
    const endpoint = run(...ask, '--context', 'aws:PrincipalAccount=111111111111');
    expect([endpoint.status, endpoint.stderr]).toEqual([0, '']);
  });

  it("the CLI refuses a bare --principal no role of the org is named, with the nearest one; a role that matches no request, an ARN and a pattern are asked as they are (review s30-cli m6)", () => {
    const run = (principal: string, action = 'kms:*') => spawnSync('node', ['.build/src/cli.js', 'explain', 'parameters/example.yaml', '--principal', principal, '--action', action], { encoding: 'utf8' });
    const typo = run('platfrom-admin');
    expect([typo.status, typo.stdout]).toEqual([64, '']);
    expect(typo.stderr).toContain("xstack: --principal platfrom-admin: no role of the compiled org has that name (did you mean platform-admin?); expected one of its roles' names, an ARN or a pattern (* and ?)");
    // A source role, named per pipeline account in its template.
    expect(run('acme-source-222222222222').status).toBe(0);
    const none = run('acme-developer', 'sqs:SendMessage');
    expect([none.status, none.stdout]).toEqual([0, 'No request matches: no statement of the compiled org speaks of it, and no access path of the report does, so nothing in the templates allows it; give --resource to ask of one resource, refused or undecided.\n']);
    expect(run('arn:aws:iam::111111111111:role/not-ours').status).toBe(0);
    expect(run('not-ours-*').status).toBe(0);
  });
});
