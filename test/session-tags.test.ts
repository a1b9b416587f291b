// Transitive session tags on the developers' path (review s27-access M1): "Transitive tags persist during role
// chaining" and passing them needs sts:TagSession (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html),
// on the role's trust and the caller's policy alike. The org file names the keys a role source's sessions carry
// (`transitiveTagKeys`); the trust allows those keys only (aws:TagKeys, ForAllValues). moto evaluates no trust: the
// proof's evaluator (src/audit/evaluate.ts) reads them here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderTemplate, type CfnTemplate } from '../src/cfn/template';
import { compileOrg } from '../src/compile';
import { OrgFileError } from '../src/errors';
import { parseOrg } from '../src/org/load';

const EXAMPLE = readFileSync('parameters/example.yaml', 'utf8');
const withKeys = (keys: string) => EXAMPLE.replace('        roleNames: ["AWSReservedSSO_Developer_*"]\n        sso: true\n', `        roleNames: ["AWSReservedSSO_Developer_*"]\n        sso: true\n        transitiveTagKeys: ${keys}\n`);
const compiled = compileOrg(parseOrg(withKeys('[team, department, team]'), 'parameters/example.yaml'));
const templateOf = (module: string): CfnTemplate => renderTemplate(compiled.stages.find((s) => s.module === module)!.definition);
type Statement = { Sid: string; Action: string | string[]; Condition?: Record<string, Record<string, unknown>> };
const trustOf = (roleId: string) => (templateOf('access-roles').Resources[roleId].Properties as { AssumeRolePolicyDocument: { Statement: Statement[] } }).AssumeRolePolicyDocument.Statement;
const results = (purpose: RegExp) => compiled.access.results.filter((r) => purpose.test(r.path.purpose));

describe('transitive session tags (transitiveTagKeys)', () => {
  it('are read sorted and once; an aws: key, a character IAM does not take, and more than 50 are refused at their line', () => {
    expect(compiled.org.access.developers!.assumedBy[0].transitiveTagKeys).toEqual(['department', 'team']);
    const problems = (keys: string) => {
      try {
        parseOrg(withKeys(keys), 'parameters/example.yaml');
        return [];
      } catch (error) {
        expect(error).toBeInstanceOf(OrgFileError);
        return (error as OrgFileError).problems.map((p) => `${p.field}: ${p.message}`);
      }
    };
    expect(problems('[aws:team]')).toEqual([expect.stringMatching(/^access\.developers\.assumedBy\[0\]\.transitiveTagKeys\[0\]: .*'aws:team' begins with aws:, which no session tag may/)]);
    expect(problems('["team#1"]')).toEqual([expect.stringMatching(/^access\.developers\.assumedBy\[0\]\.transitiveTagKeys\[0\]: /)]);
    expect(problems(`[${Array.from({ length: 51 }, (_, i) => `k${i}`).join(', ')}]`)).toEqual(['access.developers.assumedBy[0].transitiveTagKeys: has 51 items']);
  });

  it("the developer role's trust allows sts:TagSession for those keys, to that source's roles only; the maintainer role's, whose source names none, does not", () => {
    const developer = trustOf('DeveloperRoleIn111111111111').find((s) => s.Action === 'sts:TagSession');
    expect(developer?.Sid).toMatch(/CarrySessionTags1$/);
    expect(developer?.Condition?.['ForAllValues:StringEqualsIgnoreCase']).toEqual({ 'aws:TagKeys': ['department', 'team'] });
    expect(JSON.stringify(developer?.Condition?.ArnLike)).toContain('AWSReservedSSO_Developer_*');
    expect(developer?.Condition?.ArnNotLike).toBeDefined();
    expect(trustOf('MaintainerRoleIn111111111111').some((s) => [s.Action].flat().includes('sts:TagSession'))).toBe(false);
    // The caller's side: one policy name per kind (a permission set references one name in every account); the
    // developers' allows it too, for the tagged source's roles (the trust holds the keys), the maintainers' does not.
    const callers = templateOf('access-callers');
    const statementsOf = (id: string) => (callers.Resources[id].Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement;
    expect(Object.keys(callers.Resources)).toEqual(['AssumeDeveloperPolicy', 'AssumeMaintainerPolicy']);
    expect(statementsOf('AssumeDeveloperPolicy').map((x) => x.Sid)).toEqual(['AssumeRole', 'CarrySourceIdentity', 'CarrySessionTags']);
    expect(JSON.stringify(statementsOf('AssumeDeveloperPolicy')[2].Condition)).toContain('AWSReservedSSO_Developer_*');
    expect(statementsOf('AssumeMaintainerPolicy').map((x) => x.Sid)).toEqual(['AssumeRole', 'CarrySourceIdentity']);
  });

  it('the proof: developers carry their keys into the role (both sides), and may not add another key; another role may not pass tags; maintainers, whose source names none, may pass none', () => {
    const carry = results(/^developers \(AWSReservedSSO_Developer_\* in tools.*\) carry their session's transitive tags \(department, team\) into the developer role of shared-services$/);
    expect(carry.length).toBe(2);
    for (const r of carry) {
      expect(r.allowed).toBe(true);
      expect(r.reason).toBe('both sides allow it');
      expect(r.grantedBy.map((g) => `${g.stage}: ${g.policy}`)).toContain('access-callers: AssumeDeveloperPolicy/CarrySessionTags');
    }
    for (const purpose of [/^developers \(.*\) may not add a session tag of another key on the developer role/, /^a role other than AWSReservedSSO_Developer_\* .* may not pass session tags to the developer role/, /^another permission set's role .* may not pass session tags to the developer role/, /^maintainers \(.*\), for whom the org file names no transitive session tags, may not pass session tags to the maintainer role/]) {
      const refused = results(purpose);
      expect(refused.length, String(purpose)).toBeGreaterThan(0);
      for (const r of refused) expect(r.allowed, r.path.purpose).toBe(false);
    }
    expect(compiled.access.problems).toEqual([]);
  });

  it('without keys anywhere, no role allows sts:TagSession, and the proof shows the developers refused', () => {
    const plain = compileOrg(parseOrg(EXAMPLE, 'parameters/example.yaml'));
    const trusts = JSON.stringify(renderTemplate(plain.stages.find((s) => s.module === 'access-roles')!.definition));
    expect(trusts).not.toContain('sts:TagSession');
    const refused = plain.access.results.filter((r) => /^developers \(.*\), for whom the org file names no transitive session tags, may not pass session tags/.test(r.path.purpose));
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(r.allowed).toBe(false);
  });
});

describe('a kind of role with sources of both sorts', () => {
  it("one policy name for both (a permission set names one in every account), its sts:TagSession for the tagged source's roles only; the untagged source's roles may pass none", () => {
    const mixed = compileOrg(
      parseOrg(withKeys('[team]').replace('        transitiveTagKeys: [team]\n', '        transitiveTagKeys: [team]\n      - account: dev\n        roleNames: [platform-engineer]\n'), 'parameters/example.yaml'),
    );
    expect(mixed.access.problems).toEqual([]);
    const callers = renderTemplate(mixed.stages.find((s) => s.module === 'access-callers')!.definition);
    expect(Object.keys(callers.Resources).sort()).toEqual(['AssumeDeveloperPolicy', 'AssumeMaintainerPolicy']);
    // In both accounts of developers' roles (no condition: they are all the targets).
    expect(callers.Resources.AssumeDeveloperPolicy.Condition).toBeUndefined();
    const untagged = mixed.access.results.filter((r) => /^developers \(platform-engineer in dev\), for whom the org file names no transitive session tags/.test(r.path.purpose));
    expect(untagged.length).toBe(1);
    expect(untagged[0].allowed).toBe(false);
  });
});
