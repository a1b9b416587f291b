/**
 * A second opinion on the access proof: every request that src/audit
 * decides for the example orgs is decided again by an independent
 * evaluator, @cloud-copilot/iam-simulate, from the same compiled policies:
 * the principal's identity policies, the resource's policy (a role's trust
 * for sts:AssumeRole, the key policy for KMS, the bucket and event-bus
 * policies) and the request's context. IAM's evaluation logic, which both
 * follow: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
 * and, across accounts,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
 */
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';
import { accountOf, evaluate, GrantIndex } from '../src/audit/evaluate';
import type { PrincipalRef, ResolvedStatement } from '../src/audit/grants';
import type { AccessResult } from '../src/audit/paths';
import type { Org } from '../src/org/model';
import { AWS_OWNED_ACCOUNT, OTHER_ACCOUNT } from '../src/services/needs';
import { compileFile, ORG_FILES } from './helpers';

type Policy = { Version: '2012-10-17'; Statement: Array<Record<string, unknown>> };

/** The Principal element of a resource-policy statement, from the resolved principals. */
function principalElement(principals: readonly PrincipalRef[]): unknown {
  if (principals.some((p) => p.kind === 'any')) return '*';
  const aws = principals.flatMap((p) => (p.kind === 'aws' ? [p.arn] : []));
  const service = principals.flatMap((p) => (p.kind === 'service' ? [p.service] : []));
  return { ...(aws.length ? { AWS: aws } : {}), ...(service.length ? { Service: service } : {}) };
}

/**
 * iam-simulate types a resource by ARN patterns that need an account, and AWS's own SSM documents have none
 * (`arn:aws:ssm:<region>::document/AWS-ConfigureAWSPackage`, the form IAM and the SSM APIs write; the compile's XS012
 * admits it, src/checks/service-authorization.ts ACCOUNT_MAY_BE_EMPTY): it refuses such a request ('no.resource.types').
 * It is given those ARNs, in the request and in every statement alike, with one account written in, which matches
 * exactly where the ARN without one did.
 */
const ACCOUNTLESS_DOCUMENT = /^(arn:[^:]+:ssm:[^:]*:):(document\/)/;
const typedForSimulate = (arn: string) => arn.replace(ACCOUNTLESS_DOCUMENT, '$1000000000000:$2');

/** A resolved statement written back as policy JSON, as it is deployed in its account. */
function statementJson(g: ResolvedStatement): Record<string, unknown> {
  const s: Record<string, unknown> = { Sid: g.policy.split('/').pop(), Effect: g.effect, Action: g.actions };
  if (g.kind !== 'identity') s.Principal = principalElement(g.principals);
  // A trust policy has no Resource (its role is the resource); a key policy's is "*" (its key).
  if (g.kind === 'key') s.Resource = '*';
  else if (g.kind !== 'trust') s.Resource = g.resources.map(typedForSimulate);
  if (Object.keys(g.conditions).length > 0) s.Condition = g.conditions;
  return s;
}

/** Statements grouped into the documents they came from: stage, account and resource logical id. */
function documents(grants: readonly ResolvedStatement[]): Map<string, ResolvedStatement[]> {
  const docs = new Map<string, ResolvedStatement[]>();
  for (const g of grants) {
    const key = `${g.stage}|${g.account}|${g.kind}|${g.attachedTo ?? ''}|${g.policy.split('/')[0]}`;
    docs.set(key, [...(docs.get(key) ?? []), g]);
  }
  return docs;
}

/** A document as deployed; `without` (one statement) left out, as if the template had not written it. An empty one stays: a role always has its trust policy. */
const policyOf = (statements: readonly ResolvedStatement[], without?: ResolvedStatement): Policy => ({ Version: '2012-10-17', Statement: statements.filter((g) => g !== without).map(statementJson) });

/**
 * What evaluate.ts takes every request to carry (its `contextValue`): the
 * request came over TLS, and the principal's and resource's own keys.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
 */
const outside = (account: string) => account === OTHER_ACCOUNT || account === AWS_OWNED_ACCOUNT;

function context(org: Org, r: AccessResult): Record<string, string | string[]> {
  const principal = r.path.principal;
  return {
    'aws:SecureTransport': 'true',
    'aws:ResourceAccount': r.path.resourceAccount,
    // The organization keys only for accounts of the org ("only if ... a member of an organization"): not for the
    // stand-ins for anyone else's account and AWS's own.
    ...(org.organizationId && !outside(r.path.resourceAccount) ? { 'aws:ResourceOrgID': org.organizationId } : {}),
    ...(principal.kind === 'aws'
      ? { 'aws:PrincipalArn': principal.arn, 'aws:PrincipalAccount': accountOf(principal.arn), ...(org.organizationId && !outside(accountOf(principal.arn)) ? { 'aws:PrincipalOrgID': org.organizationId } : {}) }
      : {}),
    ...(r.path.context ?? {}),
  };
}

/**
 * A resource pattern as IAM reads it, written here rather than taken from the evaluator under test: `*` any run of
 * characters, `?` any one (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
 */
const resourceGlob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);

function simulationOf(org: Org, r: AccessResult, grants: readonly ResolvedStatement[], without?: ResolvedStatement): Simulation {
  const { principal, resourceAccount } = r.path;
  const resource = typedForSimulate(r.path.resource);
  const docs = [...documents(grants).values()];
  const identity =
    principal.kind === 'aws'
      ? docs.filter((d) => d[0].kind === 'identity' && d[0].attachedTo === principal.arn).map((d) => ({ name: d[0].policy.split('/')[0], policy: policyOf(d, without) }))
      : [];
  // The principal's own permissions live outside the org file (an SSO permission set): the proof assumes they allow the
  // request and proves the resource side. The same assumption, written as the policy it stands for.
  if (r.path.identityManagedElsewhere) identity.push({ name: 'managed-elsewhere', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: [r.action], Resource: [resource] }] } });
  // The resource's own policy: the document of the resource's account whose statements are about this resource.
  const owned = docs.filter((d) => d[0].kind !== 'identity' && d[0].account === resourceAccount && d.some((g) => g.resources.some((p) => resourceGlob(p).test(r.path.resource))));
  expect(owned.length, `${r.path.purpose}: one resource policy`).toBeLessThanOrEqual(1);
  return {
    request: {
      principal: principal.kind === 'aws' ? principal.arn : principal.kind === 'service' ? principal.service : '*',
      action: r.action,
      resource: { resource, accountId: resourceAccount },
      contextVariables: context(org, r),
    },
    identityPolicies: identity,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(owned.length ? { resourcePolicy: policyOf(owned[0], without) } : {}),
    // A resource of AWS's own (the CodeDeploy resource kit bucket, public): its policy is outside the org file, and the
    // proof proves the identity side only. The same assumption, written as the policy it stands for.
    ...(r.path.resourceManagedElsewhere ? { resourcePolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: [r.action], Resource: [resource] }] } } : {}),
  };
}

/** Both evaluators' decisions on a request with one statement of the org left out; the proof's through its own evaluator. */
async function decideWithout(org: Org, r: AccessResult, grants: readonly ResolvedStatement[], without: ResolvedStatement): Promise<{ proof: boolean; reason: string; simulate: string }> {
  const d = evaluate(new GrantIndex(grants.filter((g) => g !== without)), { principal: r.path.principal, action: r.action, resource: r.path.resource, resourceAccount: r.path.resourceAccount, context: r.path.context, identityManagedElsewhere: r.path.identityManagedElsewhere, resourceManagedElsewhere: r.path.resourceManagedElsewhere }, org.organizationId);
  const response = await runSimulation(simulationOf(org, r, grants, without), {});
  return { proof: d.allowed, reason: d.reason, simulate: response.resultType === 'error' ? `error ${JSON.stringify(response.errors)}` : response.overallResult };
}

const describeRequest = (r: AccessResult) => `${r.path.purpose}: ${r.action} on ${r.path.resource}`;

describe('second opinion: iam-simulate decides every request of the access proof', () => {
  for (const file of ORG_FILES) {
    it(`${file}: the same decision for every request`, async () => {
      const { org, access } = compileFile(file);
      expect(access.results.length).toBeGreaterThan(50);
      // Refusals too: the protected branches.
      expect(access.results.some((r) => !r.allowed)).toBe(true);
      const disagreements: string[] = [];
      for (const r of access.results) {
        const response = await runSimulation(simulationOf(org, r, access.grants), {});
        const simulate = response.resultType === 'error' ? `refused the request: ${JSON.stringify(response.errors)}` : response.overallResult;
        if ((simulate === 'Allowed') !== r.allowed) disagreements.push(`${describeRequest(r)}: proof ${r.allowed ? 'allows' : 'denies'} (${r.reason}), iam-simulate ${simulate}`);
        // A refusal the proof puts down to a Deny statement is an explicit deny for IAM too, not a missing Allow.
        if (!r.allowed && r.reason.startsWith('denied by')) expect(simulate, describeRequest(r)).toBe('ExplicitlyDenied');
      }
      expect(disagreements).toEqual([]);
    });

    it(`${file}: without any one statement that grants a request, both deny it, or both still allow it`, async () => {
      const { org, access } = compileFile(file);
      const disagreements: string[] = [];
      let denied = 0;
      const seen = new Set<string>();
      for (const r of access.results.filter((x) => x.allowed)) {
        for (const g of r.grantedBy) {
          const key = `${r.path.purpose}|${r.action}|${g.stage}|${g.account}|${g.policy}`;
          if (seen.has(key)) continue;
          seen.add(key);
          const { proof, reason, simulate } = await decideWithout(org, r, access.grants, g);
          if (!proof) denied++;
          if ((simulate === 'Allowed') !== proof) disagreements.push(`${describeRequest(r)} without ${g.policy} (${g.stage} @ ${g.account}): proof ${proof ? 'allows' : 'denies'} (${reason}), iam-simulate ${simulate}`);
        }
      }
      expect(denied).toBeGreaterThan(20);
      expect(disagreements).toEqual([]);
    });
  }

  /**
   * The rules where a resource policy is needed even within one account,
   * shown on the example org by both evaluators: "Unless the key policy
   * explicitly allows it, you cannot use IAM policies to allow access to a
   * KMS key" (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html);
   * IAM's evaluation logic names both: role trust policies and KMS key
   * policies are the exceptions that must allow the principal explicitly,
   * in the same account too
   * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
   */
  it('within one account, an identity policy alone opens neither a KMS key nor a role', async () => {
    const sameAccount = (r: AccessResult) => r.allowed && r.path.principal.kind === 'aws' && accountOf(r.path.principal.arn) === r.path.resourceAccount;
    // The example org's pipeline role and its key; GovCloud's CI, whose account is also a source account.
    for (const [file, kind] of [['parameters/example.yaml', 'kms:'], ['parameters/govcloud.yaml', 'sts:AssumeRole']]) {
      const { org, access } = compileFile(file);
      const r = access.results.find((x) => sameAccount(x) && x.action.startsWith(kind))!;
      expect(r, `a same-account ${kind} request in ${file}`).toBeDefined();
      const identity = r.grantedBy.filter((g) => g.kind === 'identity');
      const resourceSide = r.grantedBy.filter((g) => g.kind !== 'identity');
      expect(identity.length, describeRequest(r)).toBeGreaterThan(0);
      expect(resourceSide.length, describeRequest(r)).toBe(1);
      const { proof, simulate } = await decideWithout(org, r, access.grants, resourceSide[0]);
      expect([proof, simulate], describeRequest(r)).toEqual([false, 'ImplicitlyDenied']);
    }
  });
});
