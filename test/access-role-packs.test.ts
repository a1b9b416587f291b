// A source account's many repositories (review s58-scale M1): the developer, maintainer and CI reader roles' grants
// were each one managed policy naming every repository (the developer's twice), so that IAM's fixed 6,144 characters
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html) held about 30 repositories with
// protected branches. Now the Deny names the account's repositories at once, and the grants go over as many policies as
// they need, each measured at the longest partition and Region (src/iam/policy-size.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explainer } from '../src/audit/explain';
import { PARTITION_REGIONS, PARTITIONS } from '../src/aws/partitions';
import { asList } from '../src/checks/documents';
import { arn } from '../src/cfn/intrinsics';
import { renderTemplate } from '../src/cfn/template';
import { compileOrg } from '../src/compile';
import { policyDocument, statement } from '../src/iam/policy';
import { charsAtMost, packWithin } from '../src/iam/policy-size';
import { LIMITS } from '../src/limits';
import { loadOrgFile } from '../src/org/load';
import { tempDir } from './helpers';

/** The example org with `count` more repositories in its source account, each name `length` characters long. */
function withRepositories(count: number, length: number) {
  const text = readFileSync('parameters/example.yaml', 'utf8');
  const names = Array.from({ length: count }, (_, i) => `r${String(i).padStart(length - 1, '0')}`);
  const more = names.map((n) => `  ${n}:\n    account: shared-services\n`).join('');
  expect(text.split('\nrepositories:\n').length).toBe(2);
  const dir = tempDir('many-repositories');
  writeFileSync(join(dir, 'example.yaml'), text.replace('\nrepositories:\n', `\nrepositories:\n${more}`));
  return { compiled: compileOrg(loadOrgFile(join(dir, 'example.yaml'))), names };
}

/** The document as one account resolves it: each Fn::Sub of pseudo parameters with the given values. */
function resolved(document: unknown, values: Record<string, string>): string {
  return JSON.stringify(document, (_k, v: unknown) => {
    const payload = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)['Fn::Sub'] : undefined;
    return typeof payload === 'string' ? payload.replace(/\$\{([^}]+)\}/g, (_, n: string) => values[n]) : v;
  });
}

describe('policy size before any account resolves it', () => {
  const document = policyDocument([statement({ sid: 'Pull', actions: ['codecommit:GitPull'], resources: ['web-app', 'payments-api'].map((r) => arn(`codecommit:\${AWS::Region}:\${AWS::AccountId}:${r}`)) })]);

  it('is at least the size in every partition and Region an org may have, and exactly it in the longest', () => {
    const sizes = PARTITIONS.flatMap((partition) => PARTITION_REGIONS[partition].map((region) => resolved(document, { 'AWS::Partition': partition, 'AWS::Region': region, 'AWS::AccountId': '111111111111' }).length));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(charsAtMost(document));
    const longest = (xs: readonly string[]) => xs.reduce((a, b) => (b.length > a.length ? b : a));
    expect(resolved(document, { 'AWS::Partition': longest(PARTITIONS), 'AWS::Region': longest(Object.values(PARTITION_REGIONS).flat()), 'AWS::AccountId': '111111111111' }).length).toBe(charsAtMost(document));
    expect(() => charsAtMost({ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${BucketName}' })).toThrow('${BucketName} has no known value to measure it with');
  });

  it('packs items in order, each pack within the limit and as full as it can be', () => {
    const arns = Array.from({ length: 300 }, (_, i) => arn(`codecommit:\${AWS::Region}:\${AWS::AccountId}:repository-${i}`));
    const doc = (pack: readonly unknown[]) => policyDocument([statement({ sid: 'Work', actions: ['codecommit:GitPull', 'codecommit:GitPush'], resources: [...pack] as never })]);
    const packs = packWithin(arns, LIMITS.managedPolicyChars, doc);
    expect(packs.length).toBeGreaterThan(2);
    expect(packs.flat()).toEqual(arns);
    for (const [i, pack] of packs.entries()) {
      expect(charsAtMost(doc(pack))).toBeLessThanOrEqual(LIMITS.managedPolicyChars);
      // The next item would not have fitted.
      if (i < packs.length - 1) expect(charsAtMost(doc([...pack, packs[i + 1][0]]))).toBeGreaterThan(LIMITS.managedPolicyChars);
    }
    expect(packWithin([], LIMITS.managedPolicyChars, doc)).toEqual([]);
  });

  it('fills a pack to exactly the limit, never past it, whatever the limit (mutations-12: `>=` for `>`, the brackets not counted)', () => {
    // statement()'s shape: one item as itself, more as a list. Items of uneven lengths, every limit from 30 to 200 (each item fits alone), so that
    // some packs end exactly at the limit and some one or two characters short.
    const items = Array.from({ length: 40 }, (_, i) => 'x'.repeat(1 + ((i * 7) % 11)));
    const doc = (pack: readonly string[]) => ({ Resource: pack.length === 1 ? pack[0] : [...pack] });
    let exact = 0;
    for (let limit = 30; limit <= 200; limit++) {
      const packs = packWithin(items, limit, doc);
      expect(packs.flat(), `limit ${limit}`).toEqual(items);
      for (const [i, pack] of packs.entries()) {
        expect(charsAtMost(doc(pack)), `limit ${limit}, pack ${i}`).toBeLessThanOrEqual(limit);
        if (charsAtMost(doc(pack)) === limit) exact++;
        if (i < packs.length - 1) expect(charsAtMost(doc([...pack, packs[i + 1][0]])), `limit ${limit}, pack ${i}`).toBeGreaterThan(limit);
      }
    }
    expect(exact).toBeGreaterThan(0);
  });
});

describe('a source account with many repositories', () => {
  it('150 repositories of 26-character names compile: each role grant over several managed policies, every repository once, the Deny once on the account', () => {
    // Refused before: the developer's one policy was 24,026 characters, the maintainer's 12,622, the CI reader's 10,985.
    const { compiled, names } = withRepositories(150, 26);
    const roles = renderTemplate(compiled.stages.find((s) => s.id === 'access-roles')!.definition);
    const source = compiled.org.accounts.find((a) => a.name === 'shared-services')!.id;
    const policiesOf = (role: string) =>
      Object.entries(roles.Resources)
        .filter(([, r]) => r.Type === 'AWS::IAM::ManagedPolicy' && JSON.stringify((r.Properties as { Roles: unknown }).Roles) === JSON.stringify([{ Ref: `${role}In${source}` }]))
        .map(([id, r]) => ({ id, ...(r.Properties as { ManagedPolicyName: string; PolicyDocument: { Statement: Array<{ Sid: string; Resource: unknown }> } }) }))
        // In the order the grant was packed: the first, then -2, -3, …
        .sort((a, b) => Number(/-(\d+)$/.exec(a.ManagedPolicyName)?.[1] ?? 1) - Number(/-(\d+)$/.exec(b.ManagedPolicyName)?.[1] ?? 1));
    const repositories = [...names, 'web-app', 'payments-api'];
    for (const [role, base, sid] of [
      ['DeveloperRole', 'acme-developer-codecommit-developer', 'WorkOnRepositories'],
      ['MaintainerRole', 'acme-maintainer-codecommit-developer', 'WorkOnRepositories'],
      ['CiReaderRole', 'acme-ci-reader-codecommit-pull', 'PullRepositories'],
    ] as const) {
      const policies = policiesOf(role);
      expect(policies.length, role).toBeGreaterThan(1);
      // The first keeps its name (and logical id): an org that fits in one policy is unchanged.
      expect(policies.map((p) => p.ManagedPolicyName), role).toEqual([base, ...policies.slice(1).map((_, i) => `${base}-${i + 2}`)]);
      const granted = policies.flatMap((p) => p.PolicyDocument.Statement.filter((s) => s.Sid === sid).flatMap((s) => asList(s.Resource as never)));
      expect(granted.map((r) => JSON.stringify(r)), role).toEqual(repositories.map((r) => JSON.stringify(arn(`codecommit:\${AWS::Region}:\${AWS::AccountId}:${r}`))));
      for (const p of policies) expect(charsAtMost(p.PolicyDocument), `${role} ${p.id}`).toBeLessThanOrEqual(LIMITS.managedPolicyChars);
    }
    const denies = policiesOf('DeveloperRole').flatMap((p) => p.PolicyDocument.Statement.filter((s) => s.Sid === 'DenyWritesToProtectedBranches'));
    expect(denies.map((s) => s.Resource)).toEqual([arn('codecommit:${AWS::Region}:${AWS::AccountId}:*')].map((a) => JSON.parse(JSON.stringify(a))));
    expect(policiesOf('MaintainerRole').flatMap((p) => p.PolicyDocument.Statement).some((s) => s.Sid === 'DenyWritesToProtectedBranches')).toBe(false);
    // The console's repository list once, in the first policy (mutations-12: written into every pack).
    expect(policiesOf('DeveloperRole').map((p) => p.PolicyDocument.Statement.filter((s) => s.Sid === 'ListRepositories').length)).toEqual(policiesOf('DeveloperRole').map((_, i) => (i === 0 ? 1 : 0)));

    // The proof reads the packs as one grant: the last repository, in the last pack, is worked on by the developer
    // role except on a protected branch, which the maintainer role writes.
    const ask = explainer(compiled);
    const last = `arn:aws:codecommit:eu-west-1:${source}:${names[names.length - 1]}`;
    const push = (principal: string, branch: string) => ask({ principal, action: 'codecommit:GitPush', resource: last, context: { 'codecommit:References': [`refs/heads/${branch}`] } }).map((a) => a.allowed);
    expect(push('acme-developer', 'feature/x')).toEqual([true]);
    expect(push('acme-developer', 'main')).toEqual([false]);
    expect(push('acme-maintainer', 'main')).toEqual([true]);
    expect(ask({ principal: 'acme-ci-reader', action: 'codecommit:GitPull', resource: last }).map((a) => a.allowed)).toEqual([true]);
    expect(ask({ principal: 'acme-ci-reader', action: 'codecommit:GitPush', resource: last, context: { 'codecommit:References': ['refs/heads/feature/x'] } }).map((a) => a.allowed)).toEqual([false]);
  });
});
