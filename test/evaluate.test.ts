/**
 * The proof's IAM decision on requests the example orgs do not ask, each against the AWS page that gives the answer
 * (review s16-evaluator): where the evaluator decided otherwise, a template change could be proved working, or safe,
 * when AWS would disagree.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { endpointAllows, evaluate, GrantIndex, matches, matchesResource, type Request } from '../src/audit/evaluate';
import type { ResolvedStatement } from '../src/audit/grants';
import { analyseAccess } from '../src/audit/paths';
import { renderTemplate } from '../src/cfn/template';
import { CompileError } from '../src/errors';
import { parseOrg } from '../src/org/load';
import { planStages } from '../src/stages/plan';

const A = '111111111111';
const B = '222222222222';
const role = (account: string, name: string) => `arn:aws:iam::${account}:role/${name}`;
const root = (account: string) => `arn:aws:iam::${account}:root`;
const KEY = `arn:aws:kms:eu-west-1:${A}:key/k`;

const statement = (o: Partial<ResolvedStatement>): ResolvedStatement => ({
  stage: 's',
  account: A,
  policy: `P/${o.policy ?? 'x'}`,
  kind: 'identity',
  effect: 'Allow',
  principals: [],
  actions: [],
  resources: ['*'],
  conditions: {},
  ...o,
});
const decide = (grants: ResolvedStatement[], request: Partial<Request> & Pick<Request, 'action' | 'resource'>) =>
  evaluate(new GrantIndex(grants), { principal: { kind: 'aws', arn: role(A, 'r') }, resourceAccount: A, ...request });
const identity = (actions: string[], more: Partial<ResolvedStatement> = {}) => statement({ attachedTo: role(A, 'r'), actions, ...more });

describe('another account\'s role named directly: both sides must allow (reference_policies_evaluation-logic-cross-account.html)', () => {
  const fromB = { principal: { kind: 'aws' as const, arn: role(B, 'r') }, resourceAccount: A };
  it.each([
    ['key', 'kms:Decrypt', KEY],
    ['bucket', 's3:GetObject', 'arn:aws:s3:::b/k'],
    ['trust', 'sts:AssumeRole', role(A, 'target')],
  ] as const)('a %s policy naming the role: refused without the role\'s own Allow, allowed with it', (kind, action, resource) => {
    const named = statement({ kind, principals: [{ kind: 'aws', arn: role(B, 'r') }], actions: [action], resources: [resource] });
    expect(decide([named], { action, resource, ...fromB })).toMatchObject({ allowed: false, refusedBy: { missing: 'identity' } });
    const own = statement({ account: B, attachedTo: role(B, 'r'), actions: [action], resources: [resource] });
    expect(decide([named, own], { action, resource, ...fromB }).allowed).toBe(true);
  });
});

describe('a Resource pattern\'s wildcards stay in their ARN segment, but a `*` that ends one (reference_policies_elements_resource.html; review s37-evaluator E4)', () => {
  const stream = `arn:aws:logs:eu-west-1:${A}:log-group:x:log-stream:y`;
  const request = { action: 'logs:PutLogEvents', resource: stream };
  const allow = identity(['logs:PutLogEvents']);
  const deny = (resource: string) => identity(['logs:PutLogEvents'], { effect: 'Deny', resources: [resource] });
  it.each([
    ['a `*` inside a segment', `arn:aws:logs:eu-west-1:${A}:log-group:x*y`],
    ['a `?` for the colon', `arn:aws:logs:eu-west-1:${A}:log-group:x?log-stream:y`],
    ['a `*` inside the account segment, the pattern\'s last', `arn:aws:logs:eu-west-1:1*y`],
  ])('%s takes no colon: the Deny does not apply', (_, pattern) => {
    expect(matchesResource(pattern, stream)).toBe(false);
    expect(decide([allow, deny(pattern)], request).allowed).toBe(true);
  });
  it.each([
    ['a `*` that ends the pattern', `arn:aws:logs:eu-west-1:${A}:log-group:x*`],
    ['a `*` that ends its segment', `arn:aws:logs:eu-west-1:${A}:log-group:*:y`],
    ['`**` before a colon', `arn:aws:logs:eu-west-1:${A}:log-group:x**:y`],
    ['a `?` and `*` within segments', `arn:aws:logs:eu-west-1:${A}:log-group:?:log-stream:*`],
  ])('%s matches across colons: the Deny applies', (_, pattern) => {
    expect(matchesResource(pattern, stream)).toBe(true);
    expect(decide([allow, deny(pattern)], request)).toMatchObject({ allowed: false, refusedBy: { deny: { effect: 'Deny' } } });
  });
  it('a condition\'s StringLike is no ARN: its `*` takes colons anywhere (reference_policies_elements_condition_operators.html)', () => {
    expect(matches(`arn:aws:logs:eu-west-1:${A}:log-group:x*y`, stream)).toBe(true);
  });
});

describe('a key of another account: KMS honours only some operations across accounts (key-policy-modifying-external-accounts.html)', () => {
  const fromB = { principal: { kind: 'aws' as const, arn: role(B, 'r') }, resourceAccount: A, resource: KEY };
  const both = (action: string) => [
    statement({ kind: 'key', principals: [{ kind: 'aws', arn: role(B, 'r') }], actions: [action], resources: [KEY] }),
    statement({ account: B, attachedTo: role(B, 'r'), actions: [action], resources: [KEY] }),
  ];

  it('an operation the page lists is allowed when both policies allow it', () => {
    for (const action of ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey', 'kms:CreateGrant', 'kms:ReEncryptFrom']) expect(decide(both(action), { action, ...fromB }).allowed, action).toBe(true);
  });

  it('any other operation is refused across accounts however both policies read, and the refusal says why', () => {
    for (const action of ['kms:ScheduleKeyDeletion', 'kms:PutKeyPolicy', 'kms:GetKeyPolicy', 'kms:EnableKey']) {
      const d = decide(both(action), { action, ...fromB });
      expect(d, action).toMatchObject({ allowed: false, refusedBy: { notAcrossAccounts: action } });
    }
    // In the key's own account the same policies allow it.
    const same = { principal: { kind: 'aws' as const, arn: role(A, 'r') }, resourceAccount: A, resource: KEY };
    const key = statement({ kind: 'key', principals: [{ kind: 'aws', arn: role(A, 'r') }], actions: ['kms:ScheduleKeyDeletion'], resources: [KEY] });
    expect(decide([key], { action: 'kms:ScheduleKeyDeletion', ...same }).allowed).toBe(true);
  });
});

describe('principals: an account delegates to IAM, a role or service is named (reference_policies_elements_principal.html)', () => {
  it('a key statement naming the account beside another role admits this role by its account only: its own IAM policy must allow', () => {
    const key = statement({ kind: 'key', principals: [{ kind: 'aws', arn: root(A) }, { kind: 'aws', arn: role(A, 'other') }], actions: ['kms:Decrypt'], resources: [KEY] });
    expect(decide([key], { action: 'kms:Decrypt', resource: KEY })).toMatchObject({ allowed: false, refusedBy: { missing: 'identity' } });
    expect(decide([key, identity(['kms:Decrypt'], { resources: [KEY] })], { action: 'kms:Decrypt', resource: KEY }).allowed).toBe(true);
    // The role it names is admitted by the key policy alone.
    expect(decide([key], { action: 'kms:Decrypt', resource: KEY, principal: { kind: 'aws', arn: role(A, 'other') } }).allowed).toBe(true);
  });

  it('a trust statement naming the account beside a service: a role of the account needs its own sts:AssumeRole', () => {
    const trust = statement({ kind: 'trust', principals: [{ kind: 'aws', arn: root(A) }, { kind: 'service', service: 'ec2.amazonaws.com' }], actions: ['sts:AssumeRole'], resources: [role(A, 'target')] });
    expect(decide([trust], { action: 'sts:AssumeRole', resource: role(A, 'target') }).allowed).toBe(false);
    expect(decide([trust, identity(['sts:AssumeRole'], { resources: [role(A, 'target')] })], { action: 'sts:AssumeRole', resource: role(A, 'target') }).allowed).toBe(true);
  });

  it('a same-account bucket policy naming only the account leaves it to IAM; naming the role, or anyone, allows on its own', () => {
    const bucket = (principals: ResolvedStatement['principals']) => statement({ kind: 'bucket', principals, actions: ['s3:GetObject'], resources: ['arn:aws:s3:::b/*'] });
    const get = { action: 's3:GetObject', resource: 'arn:aws:s3:::b/k' };
    expect(decide([bucket([{ kind: 'aws', arn: root(A) }])], get)).toMatchObject({ allowed: false, refusedBy: { missing: 'identity' } });
    expect(decide([bucket([{ kind: 'aws', arn: root(A) }]), identity(['s3:GetObject'])], get).allowed).toBe(true);
    expect(decide([bucket([{ kind: 'aws', arn: role(A, 'r') }])], get).allowed).toBe(true);
    expect(decide([bucket([{ kind: 'any' }])], get).allowed).toBe(true);
  });

  it('the shortened form of an account, its id alone, is the account: a bucket Deny naming it applies to its roles', () => {
    const deny = statement({ kind: 'bucket', effect: 'Deny', principals: [{ kind: 'aws', arn: B }], actions: ['s3:*'], resources: ['arn:aws:s3:::b/*'] });
    const allow = statement({ kind: 'bucket', principals: [{ kind: 'aws', arn: role(B, 'r') }], actions: ['s3:GetObject'], resources: ['arn:aws:s3:::b/*'] });
    const request = { principal: { kind: 'aws' as const, arn: role(B, 'r') }, action: 's3:GetObject', resource: 'arn:aws:s3:::b/k' };
    const theirs = statement({ attachedTo: role(B, 'r'), account: B, actions: ['s3:GetObject'] });
    expect(decide([allow, theirs], request).allowed).toBe(true);
    expect(decide([allow, theirs, deny], request)).toMatchObject({ allowed: false, refusedBy: { deny } });
  });
});

describe("a role's trust must allow sts:TagSession as it must sts:AssumeRole (id_session-tags.html#id_session-tags_permissions-required)", () => {
  it('within one account, an identity policy allowing sts:TagSession does not make up for a trust without it', () => {
    const trust = statement({ kind: 'trust', principals: [{ kind: 'aws', arn: root(A) }], actions: ['sts:AssumeRole'], resources: [role(A, 'reader')] });
    const mine = identity(['sts:AssumeRole', 'sts:TagSession'], { resources: [role(A, 'reader')] });
    expect(decide([trust, mine], { action: 'sts:AssumeRole', resource: role(A, 'reader') }).allowed).toBe(true);
    expect(decide([trust, mine], { action: 'sts:TagSession', resource: role(A, 'reader') })).toMatchObject({ allowed: false, reason: 'no trust policy statement allows it' });
  });
});

describe('the same, on a compiled org: CI on EKS Pod Identity in a source account of its own (GovCloud example)', () => {
  it("a reader role's trust without sts:TagSession fails the proof in the CI's own account too, not only across accounts", () => {
    const text = readFileSync('parameters/govcloud.yaml', 'utf8').replace(
      /  ci:\n    account: account1-gov\n    network:\n(?:      .*\n)+/,
      '  ci:\n    account: account1-gov\n    eks: { mode: pod-identity, cluster: ci-cluster, namespace: jenkins, serviceAccount: jenkins }\n',
    );
    const org = parseOrg(text, 'parameters/govcloud.yaml');
    expect(org.access.ci?.account).toBe('account1-gov');
    const stages = planStages(org);
    expect(analyseAccess(org, stages).problems).toEqual([]);
    const access = stages.find((s) => s.module === 'access-roles')!;
    let trusts = 0;
    for (const [id, r] of Object.entries(access.definition.resources as unknown as Record<string, { Properties?: { AssumeRolePolicyDocument?: { Statement: Array<{ Action: unknown }> } } }>)) {
      const trust = r.Properties?.AssumeRolePolicyDocument;
      if (!trust || !id.startsWith('CiReaderRole')) continue;
      for (const st of trust.Statement) if (Array.isArray(st.Action)) st.Action = st.Action.filter((a) => a !== 'sts:TagSession');
      trusts++;
    }
    expect(trusts).toBe(2);
    const problems = analyseAccess(org, stages).problems;
    const inOwnAccount = problems.filter((p) => p.includes('sts:TagSession') && p.includes(':012345678901:role/gov-ci-reader'));
    expect(inOwnAccount).toEqual([expect.stringContaining('no trust policy statement allows it')]);
  });
});

describe('condition operators (reference_policies_elements_condition_operators.html)', () => {
  const request = { action: 's3:GetObject', resource: 'x' };
  const deniedBy = (conditions: ResolvedStatement['conditions'], context?: Record<string, string[]>) =>
    !decide([identity(['s3:GetObject']), identity(['s3:*'], { effect: 'Deny', conditions })], { ...request, context }).allowed;

  it('negated operators hold on a missing key and when no value matches; a Deny written with them applies', () => {
    expect(deniedBy({ StringNotLike: { 'aws:PrincipalArn': ['arn:aws:iam::*:role/admin*'] } })).toBe(true);
    expect(deniedBy({ StringNotLike: { 'aws:PrincipalArn': ['arn:aws:iam::*:role/r'] } })).toBe(false);
    expect(deniedBy({ ArnNotLike: { 'aws:SourceArn': ['arn:aws:events:*:*:rule/x'] } })).toBe(true);
    // "with a negated condition operator like StringNotEqualsIfExists, the request is still denied even if the tag is missing"
    expect(deniedBy({ StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption': ['aws:kms'] } })).toBe(true);
    expect(deniedBy({ StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption': ['aws:kms'] } }, { 's3:x-amz-server-side-encryption': ['aws:kms'] })).toBe(false);
    expect(deniedBy({ StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption': ['aws:kms'] } }, { 's3:x-amz-server-side-encryption': ['AES256'] })).toBe(true);
    expect(deniedBy({ StringNotEqualsIgnoreCase: { 'aws:PrincipalArn': [role(A, 'R')] } })).toBe(false);
  });

  it('ForAnyValue: and ForAllValues: over the values of a key, an absent key false and true', () => {
    const tags = { 'aws:TagKeys': ['team', 'cost'] };
    expect(deniedBy({ 'ForAnyValue:StringLike': { 'aws:TagKeys': ['co*'] } }, tags)).toBe(true);
    expect(deniedBy({ 'ForAnyValue:StringLike': { 'aws:TagKeys': ['co*'] } })).toBe(false);
    expect(deniedBy({ 'ForAllValues:StringEquals': { 'aws:TagKeys': ['team'] } }, tags)).toBe(false);
    expect(deniedBy({ 'ForAllValues:StringEquals': { 'aws:TagKeys': ['team', 'cost'] } }, tags)).toBe(true);
    expect(deniedBy({ 'ForAllValues:StringEquals': { 'aws:TagKeys': ['team'] } })).toBe(true);
    expect(deniedBy({ 'ForAnyValue:StringNotEquals': { 'aws:TagKeys': ['team'] } }, tags)).toBe(true);
    // An absent key: ForAnyValue false, negated or not; ForAllValues true, negated or not (single-vs-multi-valued-context-keys).
    for (const operator of ['ForAnyValue:StringNotEquals', 'ForAnyValue:StringNotLike', 'ForAnyValue:ArnNotLike']) expect(deniedBy({ [operator]: { 'aws:TagKeys': ['team'] } }), operator).toBe(false);
    for (const operator of ['ForAllValues:StringNotEquals', 'ForAllValues:StringNotLike']) expect(deniedBy({ [operator]: { 'aws:TagKeys': ['team'] } }), operator).toBe(true);
  });

  it('a set operator reads empty strings alone as no values, as the page says of a "null data set, such as an empty string" (review s57-evaluator m3)', () => {
    const empty = { 'aws:TagKeys': [''] };
    expect(deniedBy({ 'ForAllValues:StringEquals': { 'aws:TagKeys': ['team'] } }, empty)).toBe(true);
    expect(deniedBy({ 'ForAnyValue:StringLike': { 'aws:TagKeys': ['*'] } }, empty)).toBe(false);
    // Without a set operator an empty string is a value like any other.
    expect(deniedBy({ StringEquals: { 'aws:TagKeys': [''] } }, empty)).toBe(true);
  });

  it('Null takes true or false in any case, each value ORed', () => {
    expect(deniedBy({ Null: { 's3:x-amz-server-side-encryption': ['True'] } })).toBe(true);
    expect(deniedBy({ Null: { 's3:x-amz-server-side-encryption': ['false'] } })).toBe(false);
    expect(deniedBy({ Null: { 's3:x-amz-server-side-encryption': ['false', 'true'] } })).toBe(true);
  });

  it('ArnEquals and ArnLike alike, wildcards within each of the six components, never across a colon', () => {
    expect(deniedBy({ ArnEquals: { 'aws:PrincipalArn': [`arn:aws:iam::${A}:role/*`] } })).toBe(true);
    // The page's own counter-example: "With an ArnLike condition, which matches elements between colons, the match fails."
    const documented = { 'aws:SourceArn': ['arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt'] };
    expect(deniedBy({ ArnLike: { 'aws:SourceArn': ['arn:aws:someservice:*:111122223333:finance/*'] } }, documented)).toBe(false);
    expect(deniedBy({ StringLike: { 'aws:SourceArn': ['arn:aws:someservice:*:111122223333:finance/*'] } }, documented)).toBe(true);
    expect(deniedBy({ ArnLike: { 'aws:SourceArn': ['arn:aws:someservice:*:999999999999:store/*'] } }, documented)).toBe(true);
  });

  it('the Numeric operators compare numbers (1.0 < 2.0 = 2), an absent key or a value that is no number matching nothing', () => {
    const imdsv1 = { 'ec2:RoleDelivery': ['1.0'] };
    const imdsv2 = { 'ec2:RoleDelivery': ['2.0'] };
    // IAM's own example against IMDSv1 credentials: a Deny with NumericLessThan ec2:RoleDelivery 2.0 (reference_policies_condition-keys.html#condition-keys-ec2-role-delivery).
    expect(deniedBy({ NumericLessThan: { 'ec2:RoleDelivery': ['2.0'] } }, imdsv1)).toBe(true);
    expect(deniedBy({ NumericLessThan: { 'ec2:RoleDelivery': ['2.0'] } }, imdsv2)).toBe(false);
    expect(deniedBy({ NumericLessThan: { 'ec2:RoleDelivery': ['2.0'] } })).toBe(false);
    expect(deniedBy({ NumericLessThanIfExists: { 'ec2:RoleDelivery': ['2.0'] } })).toBe(true);
    expect(deniedBy({ NumericGreaterThanEquals: { 'ec2:RoleDelivery': ['2'] } }, imdsv2)).toBe(true);
    expect(deniedBy({ NumericGreaterThan: { 'ec2:RoleDelivery': ['2'] } }, imdsv2)).toBe(false);
    expect(deniedBy({ NumericLessThanEquals: { 'ec2:RoleDelivery': ['1'] } }, imdsv1)).toBe(true);
    expect(deniedBy({ NumericEquals: { 'ec2:RoleDelivery': ['1', '2'] } }, imdsv2)).toBe(true);
    expect(deniedBy({ NumericNotEquals: { 'ec2:RoleDelivery': ['2.00'] } }, imdsv2)).toBe(false);
    expect(deniedBy({ NumericNotEquals: { 'ec2:RoleDelivery': ['2.00'] } }, imdsv1)).toBe(true);
    expect(deniedBy({ NumericEquals: { 'ec2:RoleDelivery': ['2'] } }, { 'ec2:RoleDelivery': ['two'] })).toBe(false);
  });

  it('a policy variable in a String or Arn value takes the request\'s value of its key (reference_policies_variables.html); a key the request lacks matches nothing', () => {
    const allowedIf = (conditions: ResolvedStatement['conditions'], context?: Record<string, string[]>) => decide([identity(['s3:GetObject'], { conditions })], { ...request, context }).allowed;
    const inVpc = { 'aws:SourceVpc': ['vpc-1'], 'aws:Ec2InstanceSourceVpc': ['vpc-1'] };
    const bound = { StringEquals: { 'aws:SourceVpc': ['${aws:Ec2InstanceSourceVpc}'] } };
    expect(allowedIf(bound, inVpc)).toBe(true);
    // From another VPC, or not through a VPC endpoint (no aws:SourceVpc), or credentials not delivered to an instance.
    expect(allowedIf(bound, { ...inVpc, 'aws:SourceVpc': ['vpc-2'] })).toBe(false);
    expect(allowedIf(bound, { 'aws:Ec2InstanceSourceVpc': ['vpc-1'] })).toBe(false);
    expect(allowedIf(bound, { 'aws:SourceVpc': ['vpc-1'] })).toBe(false);
    // Not the text itself: a request whose value is the variable's text does not match.
    expect(allowedIf(bound, { 'aws:SourceVpc': ['${aws:Ec2InstanceSourceVpc}'] })).toBe(false);
    // Keys computed for every request, within a longer value, and the special characters.
    expect(allowedIf({ ArnLike: { 'aws:SourceArn': [`arn:aws:iam::\${aws:PrincipalAccount}:role/*`] } }, { 'aws:SourceArn': [role(A, 'x')] })).toBe(true);
    expect(allowedIf({ ArnLike: { 'aws:SourceArn': [`arn:aws:iam::\${aws:PrincipalAccount}:role/*`] } }, { 'aws:SourceArn': [role(B, 'x')] })).toBe(false);
    expect(allowedIf({ StringEquals: { 'aws:SourceVpc': ['${$}x${*}'] } }, { 'aws:SourceVpc': ['$x*'] })).toBe(true);
  });
});

describe('review s31-evaluator: variables, ARN patterns, Null and numbers as AWS documents them', () => {
  const request = { action: 's3:GetObject', resource: 'x' };
  const allowedIf = (conditions: ResolvedStatement['conditions'], context?: Record<string, string[]>) => decide([identity(['s3:GetObject'], { conditions })], { ...request, context }).allowed;
  const deniedIf = (conditions: ResolvedStatement['conditions'], context?: Record<string, string[]>) =>
    !decide([identity(['s3:GetObject']), identity(['s3:GetObject'], { effect: 'Deny', conditions })], { ...request, context }).allowed;

  it('m1: a variable the request cannot fill makes the statement invalid: neither a negated Deny nor a listed Allow applies ("causes the statement to be invalid", reference_policies_variables.html)', () => {
    const otherVpc = { StringNotEquals: { 'aws:SourceVpc': ['${aws:Ec2InstanceSourceVpc}'] } };
    // With the variable's key: a Deny from another VPC applies, from the same VPC not.
    expect(deniedIf(otherVpc, { 'aws:SourceVpc': ['vpc-1'], 'aws:Ec2InstanceSourceVpc': ['vpc-2'] })).toBe(true);
    expect(deniedIf(otherVpc, { 'aws:SourceVpc': ['vpc-1'], 'aws:Ec2InstanceSourceVpc': ['vpc-1'] })).toBe(false);
    // Without it the statement is invalid: the Deny does not apply.
    expect(deniedIf(otherVpc, { 'aws:SourceVpc': ['vpc-1'] })).toBe(false);
    // An Allow listing the variable beside a plain value does not apply either.
    expect(allowedIf({ StringEquals: { 'aws:SourceVpc': ['${aws:Ec2InstanceSourceVpc}', 'vpc-1'] } }, { 'aws:SourceVpc': ['vpc-1'] })).toBe(false);
    expect(allowedIf({ StringEquals: { 'aws:SourceVpc': ['${aws:Ec2InstanceSourceVpc}', 'vpc-1'] } }, { 'aws:SourceVpc': ['vpc-1'], 'aws:Ec2InstanceSourceVpc': ['vpc-9'] })).toBe(true);
    // "use the ...IfExists condition operator" to prevent it: with the condition's own key absent, it holds.
    expect(allowedIf({ StringEqualsIfExists: { 'aws:SourceVpc': ['${aws:Ec2InstanceSourceVpc}'] } }, {})).toBe(true);
    expect(allowedIf({ StringEqualsIfExists: { 'aws:SourceVpc': ['${aws:Ec2InstanceSourceVpc}'] } }, { 'aws:SourceVpc': ['vpc-1'] })).toBe(false);
  });

  it("m2: ${*} and ${?} are literal characters in StringLike and ArnLike, and so is a request value a variable puts in (the page's 'Special characters')", () => {
    const rule = `arn:aws:events:eu-west-1:${A}:rule/a`;
    expect(allowedIf({ ArnLike: { 'aws:SourceArn': [`${rule}\${*}`] } }, { 'aws:SourceArn': [`${rule}bc`] })).toBe(false);
    expect(allowedIf({ ArnLike: { 'aws:SourceArn': [`${rule}\${*}`] } }, { 'aws:SourceArn': [`${rule}*`] })).toBe(true);
    expect(allowedIf({ StringLike: { 'aws:SourceVpc': ['vpc-\${?}'] } }, { 'aws:SourceVpc': ['vpc-1'] })).toBe(false);
    expect(allowedIf({ StringLike: { 'aws:SourceVpc': ['vpc-\${?}'] } }, { 'aws:SourceVpc': ['vpc-?'] })).toBe(true);
    // A wildcard of the policy's own still matches the literal character.
    expect(allowedIf({ StringLike: { 'aws:SourceVpc': ['vpc-*'] } }, { 'aws:SourceVpc': ['vpc-*'] })).toBe(true);
    // The request's value, put in by a variable, is text: a `*` in it matches only a `*`.
    expect(allowedIf({ StringLike: { 'aws:SourceVpc': ['${aws:Ec2InstanceSourceVpc}'] } }, { 'aws:SourceVpc': ['vpc-1'], 'aws:Ec2InstanceSourceVpc': ['vpc-*'] })).toBe(false);
    expect(allowedIf({ StringLike: { 'aws:SourceVpc': ['${aws:Ec2InstanceSourceVpc}'] } }, { 'aws:SourceVpc': ['vpc-*'], 'aws:Ec2InstanceSourceVpc': ['vpc-*'] })).toBe(true);
  });

  it('m3: an ArnLike pattern with a wildcard and fewer than six components matches no ARN ("each of the six colon-delimited components", the operators page)', () => {
    const arn = `arn:aws:events:eu-west-1:${B}:rule/x`;
    expect(allowedIf({ ArnLike: { 'aws:SourceArn': ['arn:aws:events:*:rule/x'] } }, { 'aws:SourceArn': [arn] })).toBe(false);
    expect(allowedIf({ ArnLike: { 'aws:SourceArn': ['arn:aws:events:*:*:rule/x'] } }, { 'aws:SourceArn': [arn] })).toBe(true);
  });

  it('m6: Null reads an empty list as absent, as the set operators it guards do', () => {
    expect(allowedIf({ Null: { 'aws:TagKeys': ['true'] } }, { 'aws:TagKeys': [] })).toBe(true);
    expect(allowedIf({ Null: { 'aws:TagKeys': ['false'] } }, { 'aws:TagKeys': [] })).toBe(false);
    expect(allowedIf({ Null: { 'aws:TagKeys': ['false'] } }, { 'aws:TagKeys': ['a'] })).toBe(true);
  });

  it('m7: the Numeric operators read integers and decimals, not 0x10, 1e1 or Infinity', () => {
    expect(allowedIf({ NumericEquals: { 'ec2:RoleDelivery': ['0x10'] } }, { 'ec2:RoleDelivery': ['16'] })).toBe(false);
    expect(allowedIf({ NumericEquals: { 'ec2:RoleDelivery': ['1e1'] } }, { 'ec2:RoleDelivery': ['10'] })).toBe(false);
    expect(allowedIf({ NumericGreaterThan: { 'ec2:RoleDelivery': ['1'] } }, { 'ec2:RoleDelivery': ['Infinity'] })).toBe(false);
    expect(allowedIf({ NumericGreaterThanEquals: { 'ec2:RoleDelivery': ['2.0'] } }, { 'ec2:RoleDelivery': ['2'] })).toBe(true);
    expect(allowedIf({ NumericLessThan: { 'ec2:RoleDelivery': ['.5'] } }, { 'ec2:RoleDelivery': ['-1'] })).toBe(true);
  });
});

describe('what the proof cannot read is refused, never skipped', () => {
  const org = parseOrg(readFileSync('parameters/example.yaml', 'utf8'), 'parameters/example.yaml');
  /** The example's stages with one statement of the access roles' developer role changed. */
  const withDeveloperStatement = (change: (statement: Record<string, unknown>) => void) => {
    const stages = planStages(org);
    const access = stages.find((s) => s.module === 'access-roles')!;
    const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
    const template = templates.get(access.id)!;
    const policy = Object.values(template.Resources).find((r) => r.Type === 'AWS::IAM::ManagedPolicy')!;
    const first = (policy.Properties as { PolicyDocument: { Statement: Array<Record<string, unknown>> } }).PolicyDocument.Statement[0];
    change(first);
    return () => analyseAccess(org, stages, templates);
  };
  const refusal = (run: () => unknown): CompileError => {
    try {
      run();
    } catch (error) {
      return error as CompileError;
    }
    throw new Error('not refused');
  };

  const unread: ReadonlyArray<readonly [string, (statement: Record<string, unknown>) => void]> = [
    ['NotResource', (s) => void ((s.NotResource = s.Resource), delete s.Resource)],
    ['NotAction', (s) => void ((s.NotAction = s.Action), delete s.Action)],
    ['NotPrincipal', (s) => void (s.NotPrincipal = { AWS: `arn:aws:iam::${A}:role/someone` })],
  ];
  it.each(unread)('%s: a compile problem naming the statement and what to write instead', (element, change) => {
    const error = refusal(withDeveloperStatement(change));
    expect(error).toBeInstanceOf(CompileError);
    expect(error.details).toEqual([expect.stringMatching(new RegExp(`^access-roles: \\w+/\\w+ uses ${element}, which the access proof does not read; write the statement with ${element.slice(3)}$`))]);
  });

  it('Principal {"AWS": "*"}, which IAM documents as "*" for anonymous users only: a compile problem naming it, as neither reading is sound for both proofs (review s31-evaluator m5, s32-diff 6)', () => {
    const error = refusal(withDeveloperStatement((s) => void (s.Principal = { AWS: ['*'] })));
    expect(error.details).toEqual([expect.stringMatching(/: Principal \{"AWS": "\*"\}, which IAM documents as "\*" for anonymous users only, .*write "Principal": "\*" \(anyone, with conditions\) or name the principals$/)]);
  });

  it.each([
    ['written in lower case', (s: Record<string, unknown>): void => void (s.Effect = 'allow'), '"allow"'],
    ['missing', (s: Record<string, unknown>): void => void delete s.Effect, 'missing'],
  ] as const)('an Effect %s, which IAM refuses ("The Effect value is case sensitive"): a compile problem naming it, not read as Allow (review s57-evaluator m1)', (_, change, shown) => {
    const error = refusal(withDeveloperStatement(change));
    expect(error.details).toEqual([expect.stringMatching(new RegExp(`^access-roles: \\w+/\\w+: Effect ${shown}, where IAM takes exactly "Allow" or "Deny" \\(case sensitive\\)$`))]);
  });

  it('a role session as principal, which the proof\'s requests never carry: a compile problem naming it (review s57-evaluator m2)', () => {
    const error = refusal(withDeveloperStatement((s) => void (s.Principal = { AWS: [`arn:aws:sts::${A}:assumed-role/ops/alice`] })));
    expect(error.details).toEqual([expect.stringMatching(/: a role session principal \(sts::…:assumed-role\/…\), which the access proof does not read .*name the role, with aws:PrincipalArn if need be$/)]);
  });

  it('a principal of a kind the proof does not read (CanonicalUser): a compile problem naming it', () => {
    const error = refusal(withDeveloperStatement((s) => void (s.Principal = { CanonicalUser: '79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be' })));
    expect(error.details).toEqual([expect.stringMatching(/: a CanonicalUser principal is not one the access proof reads \(AWS, Service, Federated\)$/)]);
  });

  it("a policy variable in a document without Version 2012-10-17, which IAM reads as text: a compile problem naming it (review s31-evaluator m8)", () => {
    const gov = parseOrg(readFileSync('parameters/govcloud.yaml', 'utf8'), 'parameters/govcloud.yaml');
    const stages = planStages(gov);
    const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
    const ci = templates.get('ci-identity')!;
    const policy = ci.Resources.CiInstanceRoleAssumeCiReaderRoles.Properties as { PolicyDocument: { Version?: string } };
    // As compiled it is read: the document has the Version.
    expect(policy.PolicyDocument.Version).toBe('2012-10-17');
    expect(analyseAccess(gov, stages, templates).problems).toEqual([]);
    delete policy.PolicyDocument.Version;
    const error = refusal(() => analyseAccess(gov, stages, templates));
    expect(error.details).toEqual([expect.stringContaining('ci-identity: CiInstanceRoleAssumeCiReaderRoles/AssumeCiReaderRoles: a policy variable in a document without Version 2012-10-17')]);
  });

  it("a bucket or bus policy's statement naming another resource than its own, or \"*\": a compile problem, as AWS applies it to its own resource only and the proof would apply it to every one it names (review s31-evaluator m4)", () => {
    const example = parseOrg(readFileSync('parameters/example.yaml', 'utf8'), 'parameters/example.yaml');
    const stages = planStages(example);
    const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
    expect(analyseAccess(example, stages, templates).problems).toEqual([]);
    const foundation = templates.get('pipeline-foundation')!;
    const bucketStatements = (foundation.Resources.ArtifactBucketPolicy.Properties as { PolicyDocument: { Statement: Array<Record<string, unknown>> } }).PolicyDocument.Statement;
    const bus = foundation.Resources.CodeCommitEventsBusPolicy.Properties as { Statement: Record<string, unknown> };
    const { Resource: ownBus } = bus.Statement;
    bus.Statement.Resource = '*';
    expect(refusal(() => analyseAccess(example, stages, templates)).details).toEqual([
      expect.stringMatching(/^pipeline-foundation: CodeCommitEventsBusPolicy\/acme-codecommit-events names \*, not the event-bus its policy is attached to \(arn:aws:events:eu-west-1:\d{12}:event-bus\/default\)/),
    ]);
    bus.Statement.Resource = ownBus;
    const own = bucketStatements[0].Resource as unknown[];
    bucketStatements[0].Resource = [...own, { 'Fn::Sub': '${AccessLogBucket.Arn}/*' }];
    expect(refusal(() => analyseAccess(example, stages, templates)).details).toEqual([
      expect.stringMatching(/^pipeline-foundation: ArtifactBucketPolicy\/DenyInsecureTransport names arn:aws:s3:::acme-access-logs-\d{12}-eu-west-1\/\*, not the bucket its policy is attached to \(arn:aws:s3:::acme-artifacts-\d{12}-eu-west-1\): .* name that resource or its objects$/),
    ]);
    // A pattern that also matches the template's other bucket, or runs past the bucket's name into another (review s32-diff 3).
    for (const pattern of [{ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::acme-*' }, { 'Fn::Sub': '${ArtifactBucket.Arn}-g2/*' }]) {
      bucketStatements[0].Resource = [...own, pattern];
      expect(refusal(() => analyseAccess(example, stages, templates)).details, JSON.stringify(pattern)).toEqual([expect.stringMatching(/^pipeline-foundation: ArtifactBucketPolicy\/DenyInsecureTransport names arn:aws:s3:::acme-/)]);
    }
    // One that matches this bucket's objects only is read as AWS reads it.
    bucketStatements[0].Resource = [...own, { 'Fn::Sub': '${ArtifactBucket.Arn}/app/*' }];
    expect(analyseAccess(example, stages, templates).problems).toEqual([]);
  });

  it('a condition operator the evaluator does not read (DateLessThan): a compile problem naming it', () => {
    const error = refusal(withDeveloperStatement((s) => void (s.Condition = { DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } })));
    expect(error.details).toEqual([expect.stringContaining('the condition operator DateLessThan is not one the access proof reads')]);
  });

  it("a condition key the proof does not model (aws:ViaAWSService, which AWS puts in every request): a problem naming statement and key, as a Deny on it would never apply in the model (review s22-evaluator E1)", () => {
    const analysis = withDeveloperStatement((s) => void (s.Condition = { Bool: { 'aws:ViaAWSService': 'false' } }))();
    expect(analysis.problems).toContainEqual(expect.stringMatching(/^access-roles: \w+\/\w+: the condition key aws:ViaAWSService is one the access proof does not model .*contextValue/));
    // A key some proved request carries is read: the proof still decides on it.
    const given = withDeveloperStatement((s) => void (s.Condition = { StringEquals: { 'aws:SourceAccount': A } }))();
    expect(given.problems.filter((p) => p.includes('does not model'))).toEqual([]);
  });

  it('a policy variable in a resource or a condition value: a problem, as the proof compares text (review s22-evaluator E2)', () => {
    const resource = withDeveloperStatement((s) => void (s.Resource = [...([] as string[]).concat(s.Resource as string), 'arn:aws:codecommit:eu-west-1:${aws:PrincipalAccount}:x']))();
    expect(resource.problems).toContainEqual(expect.stringMatching(/^access-roles: \w+\/\w+: a resource holds a policy variable/));
    // A default value, which the proof does not read.
    const value = withDeveloperStatement((s) => void (s.Condition = { StringEquals: { 'aws:ResourceAccount': "${aws:PrincipalAccount, 'x'}" } }))();
    expect(value.problems).toContainEqual(expect.stringMatching(/: the condition StringEquals aws:ResourceAccount holds a policy variable .* the access proof does not replace/));
    // A key no request of the proof carries.
    const unmodelled = withDeveloperStatement((s) => void (s.Condition = { StringEquals: { 'aws:ResourceAccount': '${aws:SourceOwner}' } }))();
    expect(unmodelled.problems).toContainEqual(expect.stringMatching(/: the condition StringEquals aws:ResourceAccount holds the policy variable \$\{aws:SourceOwner\}, a key no request/));
    // One it replaces, of a key computed for every request: read, no problem.
    const read = withDeveloperStatement((s) => void (s.Condition = { StringEquals: { 'aws:ResourceAccount': '${aws:PrincipalAccount}' } }))();
    expect(read.problems.filter((p) => p.includes('policy variable'))).toEqual([]);
  });

  it('the example orgs use none of them: both compile and prove', () => {
    expect(withDeveloperStatement(() => undefined)().problems).toEqual([]);
  });
});

describe('within one account, a principal whose own policies are outside the org file (reference_policies_evaluation-logic_policy-eval-basics.html)', () => {
  it('a refusal with no Allow on either side rests on its own policies, which could allow it: not a proved refusal; on a key or a trust, the resource side alone refuses (review s37-evaluator E5)', () => {
    const outside = { identityManagedElsewhere: true };
    const bucket = decide([], { action: 's3:GetObject', resource: 'arn:aws:s3:::b/k', ...outside });
    expect(bucket).toMatchObject({ allowed: false, refusedBy: { missing: 'both', ownPolicyDecides: true } });
    // Its own policies known (the templates'): refused, proved.
    expect(decide([], { action: 's3:GetObject', resource: 'arn:aws:s3:::b/k' }).refusedBy).toEqual({ missing: 'both' });
    // A key policy must allow, whatever IAM does: "Without permission from the key policy, IAM policies that allow permissions have no effect".
    expect(decide([], { action: 'kms:Decrypt', resource: KEY, ...outside }).refusedBy).toEqual({ missing: 'resource', identityElsewhere: true });
    expect(decide([], { action: 'sts:AssumeRole', resource: role(A, 'other'), ...outside }).refusedBy).toEqual({ missing: 'resource', identityElsewhere: true });
  });
});

describe('the organization keys of an account outside the org (reference_policies_condition-keys.html: aws:ResourceOrgID "only if the account that owns the resource is a member of an organization")', () => {
  it('an account explain knows is outside the org gets no aws:ResourceOrgID nor aws:PrincipalOrgID: an org-scoped statement does not apply (review s37-evaluator E7)', () => {
    const bus = 'arn:aws:events:eu-west-1:123456789012:event-bus/default';
    const scoped = identity(['events:PutEvents'], { resources: ['arn:aws:events:eu-west-1:*:event-bus/default'], conditions: { StringEquals: { 'aws:ResourceOrgID': ['o-a1b2c3d4e5'] } } });
    const ask = (outsideOrg?: ReadonlySet<string>) =>
      evaluate(new GrantIndex([scoped]), { principal: { kind: 'aws', arn: role(A, 'r') }, action: 'events:PutEvents', resource: bus, resourceAccount: '123456789012', ...(outsideOrg ? { outsideOrg } : {}) }, 'o-a1b2c3d4e5').grantedBy;
    expect(ask()).toEqual([scoped]);
    expect(ask(new Set(['123456789012']))).toEqual([]);
    const trust = statement({ kind: 'trust', principals: [{ kind: 'any' }], actions: ['sts:AssumeRole'], resources: [role(A, 't')], conditions: { StringEquals: { 'aws:PrincipalOrgID': ['o-a1b2c3d4e5'] } } });
    const assume = (outsideOrg?: ReadonlySet<string>) =>
      evaluate(new GrantIndex([trust]), { principal: { kind: 'aws', arn: role('123456789012', 'x') }, action: 'sts:AssumeRole', resource: role(A, 't'), resourceAccount: A, ...(outsideOrg ? { outsideOrg } : {}) }, 'o-a1b2c3d4e5').grantedBy;
    expect(assume()).toEqual([trust]);
    expect(assume(new Set(['123456789012']))).toEqual([]);
  });
});

describe('a VPC endpoint policy is one more gate: a request passes only if a statement allows it and none denies it (vpc-endpoints-access.html)', () => {
  // No endpoint policy xstack writes has a Deny today: this holds the evaluator to AWS's rule for when one does (review s40-mutations 13).
  const endpoint = (o: Partial<ResolvedStatement>) => statement({ kind: 'endpoint', principals: [{ kind: 'any' }], ...o });
  const allowAll = endpoint({ policy: 'AllowAll', actions: ['s3:*'], resources: ['*'] });
  const denyOne = endpoint({ policy: 'DenyOtherBucket', effect: 'Deny', actions: ['s3:GetObject'], resources: ['arn:aws:s3:::other/*'] });
  const get = (resource: string): Request => ({ principal: { kind: 'aws', arn: role(A, 'r') }, action: 's3:GetObject', resource, resourceAccount: A });
  it.each([
    ['the Allow first', [allowAll, denyOne]],
    ['the Deny first', [denyOne, allowAll]],
  ])('%s: the request the Deny matches is refused by it; another passes by the Allow', (_, statements) => {
    expect(endpointAllows(statements, get('arn:aws:s3:::other/k'))).toEqual({ allowed: false, by: denyOne });
    expect(endpointAllows(statements, get('arn:aws:s3:::mine/k'))).toEqual({ allowed: true, by: allowAll });
    // The Deny alone allows nothing.
    expect(endpointAllows([denyOne], get('arn:aws:s3:::mine/k')).allowed).toBe(false);
  });
});

describe('GrantIndex: a role\'s or account\'s statements for an action, as a scan of the grants finds them', () => {
  it('answers each lookup, in any order and asked again, with the statements a scan finds, in the grants\' order (seeded)', () => {
    let seed = 53;
    const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const roles = [role(A, 'r1'), role(A, 'r2'), role(B, 'r3')];
    const accounts = [A, B, '333333333333'];
    const actions = ['s3:GetObject', 's3:getobject', 's3:PutObject', 'kms:Decrypt', 's3:Get*', 'kms:*', 'sts:AssumeRole'];
    const statement = (n: number): ResolvedStatement => {
      const identity = next(2) === 0;
      return {
        stage: 's',
        account: accounts[next(accounts.length)],
        policy: `P/${n}`,
        kind: identity ? 'identity' : 'bucket',
        effect: 'Allow',
        ...(identity ? { attachedTo: roles[next(roles.length)] } : {}),
        principals: [],
        actions: Array.from({ length: 1 + next(3) }, () => actions[next(actions.length)]),
        resources: ['*'],
        conditions: {},
      };
    };
    // As the index reads an action: IAM's actions are case-insensitive, and a pattern matches as `matches` does.
    const names = (g: ResolvedStatement, action: string) => g.actions.some((a) => matches(a, action, true));
    for (let round = 0; round < 200; round++) {
      const grants = Array.from({ length: next(30) }, (_, n) => statement(n));
      const index = new GrantIndex(grants);
      const asks = Array.from({ length: 40 }, () => ({ role: next(2) === 0, key: next(3), action: actions[next(actions.length)] }));
      for (const ask of [...asks, ...asks]) {
        const found = ask.role ? index.identity(roles[ask.key], ask.action) : index.resourcePolicies(accounts[ask.key], ask.action);
        const scanned = grants.filter((g) => (ask.role ? g.kind === 'identity' && g.attachedTo === roles[ask.key] : g.kind !== 'identity' && g.account === accounts[ask.key]) && names(g, ask.action));
        // The exact actions' statements first, then those whose actions hold a pattern, each in the grants' order.
        const patterned = (g: ResolvedStatement) => g.actions.some((a) => a.includes('*') || a.includes('?'));
        expect(found).toEqual([...scanned.filter((g) => !patterned(g)), ...scanned.filter(patterned)]);
      }
    }
  });
});

describe('a service is let in by the resource\'s own policy, said as the policy it is (review s57-evaluator m7)', () => {
  const events = { kind: 'service' as const, service: 'events.amazonaws.com' };
  const queue = `arn:aws:sqs:eu-west-1:${A}:acme-events-dlq`;
  const send = { action: 'sqs:SendMessage', resource: queue };
  it('a queue policy: "resource policy", never "trust"', () => {
    const allowing = statement({ kind: 'queue', principals: [events], actions: ['sqs:SendMessage'], resources: [queue] });
    expect(decide([allowing], { ...send, principal: events })).toMatchObject({ allowed: true, reason: 'resource policy allows the service' });
    expect(decide([], { ...send, principal: events })).toMatchObject({ allowed: false, reason: 'no resource policy statement admits the service' });
  });
  it("a role's trust and a key's policy, each by its name", () => {
    const trust = statement({ kind: 'trust', principals: [{ kind: 'service', service: 'codepipeline.amazonaws.com' }], actions: ['sts:AssumeRole'], resources: [role(A, 'p')] });
    expect(decide([trust], { action: 'sts:AssumeRole', resource: role(A, 'p'), principal: { kind: 'service', service: 'codepipeline.amazonaws.com' } }).reason).toBe('trust allows the service');
    expect(decide([], { action: 'kms:Decrypt', resource: KEY, principal: { kind: 'service', service: 's3.amazonaws.com' } }).reason).toBe('no key policy statement admits the service');
  });
});
