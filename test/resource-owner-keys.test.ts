/**
 * aws:ResourceAccount, aws:ResourceOrgID and aws:ResourceOrgPaths are absent from the request context of the actions
 * IAM's global condition keys page lists as not supporting them (review s39-conditions m2): the access proof reads
 * them as absent there, and XS011 refuses a condition on one for such an action unless ...IfExists or a Null on the
 * key says what the absence means.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceaccount
 */
import { describe, expect, it } from 'vitest';
import { evaluate, GrantIndex, unreadConditions } from '../src/audit/evaluate';
import type { ResolvedStatement } from '../src/audit/grants';
import type { CfnTemplate } from '../src/cfn/template';
import type { PlainStatement } from '../src/checks/documents';
import { ACTIONS_WITHOUT_RESOURCE_OWNER_KEYS, actionData, lacksResourceOwnerKeys, serviceData } from '../src/checks/iam-data';
import { formatFinding } from '../src/checks/rules';
import { checkServiceAuthorization } from '../src/checks/service-authorization';

const A = '111111111111';
const B = '222222222222';
const ORG = 'o-a1b2c3d4e5';
const ROLE = `arn:aws:iam::${A}:role/r`;

/** An action the page lists (EC2), one of EBS's ("All actions"), and two it does not (EC2, S3). */
const LISTED = 'ec2:CreateVpcEndpoint';
const EBS = 'ebs:StartSnapshot';
const UNLISTED = 'ec2:CreateVpc';
const S3 = 's3:GetObject';

describe('the list (iam-data.ts lacksResourceOwnerKeys)', () => {
  it('names only actions the Service Authorization Reference has, EBS as a whole service', () => {
    expect(serviceData('ebs')).toBeDefined();
    for (const a of ACTIONS_WITHOUT_RESOURCE_OWNER_KEYS.filter((a) => a !== 'ebs:*')) expect(actionData(a), a).toBeDefined();
  });

  it('holds for the listed actions in any case and all of EBS, not for others; not for events:PutEvents (xstack creates its targets after March 2, 2023)', () => {
    for (const a of [LISTED, 'EC2:acceptvpcpeeringconnection', 'route53:AssociateVPCWithHostedZone', EBS]) expect(lacksResourceOwnerKeys(a), a).toBe(true);
    for (const a of [UNLISTED, S3, 'events:PutEvents', 'sts:AssumeRole']) expect(lacksResourceOwnerKeys(a), a).toBe(false);
  });
});

describe('the access proof reads the three keys as absent for the listed actions (reference_policies_elements_condition_operators.html)', () => {
  /** Whether an identity Allow with `conditions` grants the action in its own account. */
  const grants = (action: string, conditions: ResolvedStatement['conditions'], context?: Record<string, string[]>) => {
    const allow: ResolvedStatement = { stage: 's', account: A, policy: 'P/x', kind: 'identity', effect: 'Allow', principals: [], actions: [action], resources: ['*'], conditions, attachedTo: ROLE };
    return evaluate(new GrantIndex([allow]), { principal: { kind: 'aws', arn: ROLE }, action, resource: `arn:aws:ec2:eu-west-1:${A}:thing/x`, resourceAccount: A, context }, ORG).allowed;
  };
  /** [the condition, whether it holds for an unlisted action (key present), whether for a listed one (key absent)]. */
  const cases: Array<[string, ResolvedStatement['conditions'], boolean, boolean]> = [
    ['StringEquals the owner: false on an absent key', { StringEquals: { 'aws:ResourceAccount': [A] } }, true, false],
    ['StringLike: false on an absent key', { StringLike: { 'aws:ResourceAccount': ['1111*'] } }, true, false],
    ['StringNotEquals the owner: a negated operator holds on an absent key', { StringNotEquals: { 'aws:ResourceAccount': [A] } }, false, true],
    ['StringNotEquals another account', { StringNotEquals: { 'aws:ResourceAccount': [B] } }, true, true],
    ['StringEqualsIfExists another account: true on an absent key', { StringEqualsIfExists: { 'aws:ResourceAccount': [B] } }, false, true],
    ['StringNotEqualsIfExists the owner: true on an absent key', { StringNotEqualsIfExists: { 'aws:ResourceAccount': [A] } }, false, true],
    ['Null true', { Null: { 'aws:ResourceAccount': ['true'] } }, false, true],
    ['Null false', { Null: { 'aws:ResourceAccount': ['false'] } }, true, false],
    ['StringEquals aws:ResourceOrgID', { StringEquals: { 'aws:ResourceOrgID': [ORG] } }, true, false],
    ['StringNotEquals aws:ResourceOrgID', { StringNotEquals: { 'aws:ResourceOrgID': [ORG] } }, false, true],
  ];
  it.each(cases)('%s', (_name, conditions, unlisted, listed) => {
    expect(grants(UNLISTED, conditions), UNLISTED).toBe(unlisted);
    expect(grants(S3, conditions), S3).toBe(unlisted);
    expect(grants(LISTED, conditions), LISTED).toBe(listed);
    expect(grants(EBS, conditions), EBS).toBe(listed);
  });

  it('aws:ResourceOrgPaths, which a need\'s context gives: ForAnyValue false and ForAllValues true once it is absent, whatever the context says', () => {
    const paths = { 'aws:ResourceOrgPaths': [`${ORG}/r-ab12/ou-ab12-11111111/`] };
    const any = { 'ForAnyValue:StringLike': { 'aws:ResourceOrgPaths': [`${ORG}/*`] } };
    const all = { 'ForAllValues:StringLike': { 'aws:ResourceOrgPaths': [`${ORG}/r-ab12/ou-ab12-22222222/*`] } };
    expect([grants(UNLISTED, any, paths), grants(LISTED, any, paths)]).toEqual([true, false]);
    expect([grants(UNLISTED, all, paths), grants(LISTED, all, paths)]).toEqual([false, true]);
  });

  it('an Allow on aws:ResourceAccount alone proves no access AWS would refuse, and a Deny on it applies as AWS applies it', () => {
    const deny: ResolvedStatement = { stage: 's', account: A, policy: 'P/deny', kind: 'identity', effect: 'Deny', principals: [], actions: ['ec2:*'], resources: ['*'], conditions: { StringNotEquals: { 'aws:ResourceAccount': [A] } }, attachedTo: ROLE };
    const allow: ResolvedStatement = { ...deny, policy: 'P/allow', effect: 'Allow', conditions: {} };
    const ask = (action: string) => evaluate(new GrantIndex([allow, deny]), { principal: { kind: 'aws', arn: ROLE }, action, resource: '*', resourceAccount: A }, ORG);
    expect(ask(UNLISTED).allowed).toBe(true);
    // The key is absent: StringNotEquals holds, and AWS's Deny refuses the action in the account's own resources too.
    expect(ask(LISTED)).toMatchObject({ allowed: false, refusedBy: { deny } });
  });

  it('aws:ResourceAccount and aws:ResourceOrgID stay keys the proof models (no unread-condition problem)', () => {
    const s: ResolvedStatement = { stage: 's', account: A, policy: 'P/x', kind: 'identity', effect: 'Allow', principals: [], actions: [LISTED], resources: ['*'], conditions: { StringEqualsIfExists: { 'aws:ResourceAccount': [A], 'aws:ResourceOrgID': [ORG] } } };
    expect(unreadConditions([s], new Set())).toEqual([]);
  });
});

describe('XS011: a condition on the three keys for a listed action needs ...IfExists or a Null on the key', () => {
  const template = (statement: PlainStatement): CfnTemplate =>
    ({ AWSTemplateFormatVersion: '2010-09-09', Resources: { Policy: { Type: 'AWS::IAM::ManagedPolicy', Properties: { PolicyDocument: { Version: '2012-10-17', Statement: [{ Sid: 'PinnedToOwnAccount', ...statement }] } } } } }) as unknown as CfnTemplate;
  const xs011 = (statement: PlainStatement) => checkServiceAuthorization(template(statement)).filter((f) => f.rule === 'XS011');
  const items = (statement: PlainStatement) => xs011(statement).map((f) => f.item);
  const statement = (Effect: 'Allow' | 'Deny', Action: string | string[], Condition: PlainStatement['Condition']): PlainStatement => ({ Effect, Action, Resource: '*', Condition });
  const own = { StringEquals: { 'aws:ResourceAccount': A } };

  it.each([
    ['StringEquals aws:ResourceAccount on ec2:CreateVpcEndpoint (an Allow)', statement('Allow', LISTED, own), ['Condition::StringEquals::aws:ResourceAccount']],
    ['StringNotEquals aws:ResourceAccount on ec2:CreateVpcEndpoint (a Deny)', statement('Deny', LISTED, { StringNotEquals: { 'aws:ResourceAccount': A } }), ['Condition::StringNotEquals::aws:ResourceAccount']],
    ['StringEquals aws:ResourceOrgID on an EBS action', statement('Allow', EBS, { StringEquals: { 'aws:ResourceOrgID': ORG } }), ['Condition::StringEquals::aws:ResourceOrgID']],
    ['ForAnyValue:StringLike aws:ResourceOrgPaths on route53:AssociateVPCWithHostedZone', statement('Allow', 'route53:AssociateVPCWithHostedZone', { 'ForAnyValue:StringLike': { 'aws:ResourceOrgPaths': `${ORG}/*` } }), ['Condition::ForAnyValue:StringLike::aws:ResourceOrgPaths']],
    ['a listed action among others', statement('Allow', [UNLISTED, LISTED], own), ['Condition::StringEquals::aws:ResourceAccount']],
    ['a wildcard that takes a listed action (ec2:Create*)', statement('Deny', 'ec2:Create*', { StringNotEquals: { 'aws:ResourceAccount': A } }), ['Condition::StringNotEquals::aws:ResourceAccount']],
    ['Action "*"', statement('Deny', '*', { StringNotEquals: { 'aws:ResourceAccount': A } }), ['Condition::StringNotEquals::aws:ResourceAccount']],
    ['a NotAction that leaves EBS in', { Effect: 'Deny', NotAction: ['ec2:*', 'route53:*', 'workspaces:*'], Resource: '*', Condition: { StringNotEquals: { 'aws:ResourceAccount': A } } } as PlainStatement, ['Condition::StringNotEquals::aws:ResourceAccount']],
    ['a Null on another key is no guard', statement('Allow', LISTED, { ...own, Null: { 'aws:ResourceOrgID': 'false' } }), ['Condition::StringEquals::aws:ResourceAccount']],
  ])('refuses %s', (_name, s, expected) => expect(items(s)).toEqual(expected));

  it.each([
    ['StringEqualsIfExists on ec2:CreateVpcEndpoint', statement('Allow', LISTED, { StringEqualsIfExists: { 'aws:ResourceAccount': A } })],
    ['ForAnyValue:StringLikeIfExists aws:ResourceOrgPaths on an EBS action', statement('Allow', EBS, { 'ForAnyValue:StringLikeIfExists': { 'aws:ResourceOrgPaths': `${ORG}/*` } })],
    ['StringNotEquals beside Null false on the key (the execution role\'s StackSetsService form)', statement('Deny', '*', { StringNotEquals: { 'aws:ResourceAccount': A }, Null: { 'aws:ResourceAccount': 'false' } })],
    ['StringEquals on an action the page does not list (ec2:CreateVpc)', statement('Allow', UNLISTED, own)],
    ['StringEquals on S3', statement('Allow', S3, own)],
    ['StringEquals aws:ResourceOrgID on events:PutEvents (targets xstack creates now)', statement('Allow', 'events:PutEvents', { StringEquals: { 'aws:ResourceOrgID': ORG } })],
    ['a NotAction that leaves out every listed action', { Effect: 'Deny', NotAction: ['ec2:*', 'ebs:*', 'route53:*', 'workspaces:*'], Resource: '*', Condition: { StringNotEquals: { 'aws:ResourceAccount': A } } } as PlainStatement],
  ])('accepts %s', (_name, s) => expect(items(s)).toEqual([]));

  it('names the statement, the key, the action and the page', () => {
    const [f] = xs011(statement('Allow', [UNLISTED, LISTED], own));
    expect(f).toMatchObject({ rule: 'XS011', resource: 'Policy', statement: 'PinnedToOwnAccount' });
    expect(formatFinding(f)).toBe(
      `XS011 Policy PinnedToOwnAccount: Condition::StringEquals::aws:ResourceAccount: aws:ResourceAccount is absent from the request context of ec2:CreateVpcEndpoint: IAM's global condition keys page lists it among the actions that do not support it (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceaccount); write StringEqualsIfExists, or add a Null condition on aws:ResourceAccount, to say what its absence means`,
    );
  });
});
