/** Resource shapes several templates share. */
import Role from 'cloudform-types/types/iam/role';
import type { PolicyDocument } from '../iam/policy';
import { arn } from './intrinsics';

export interface RoleProps {
  name: string;
  description: string;
  trust: PolicyDocument;
  /** 3,600 to 43,200; the AWS default (one hour) when omitted. */
  maxSessionSeconds?: number;
  inlinePolicies?: Array<{ name: string; document: PolicyDocument }>;
  /** AWS managed policies by name (partition-agnostic ARNs are made here). */
  awsManagedPolicies?: readonly string[];
  /** Least-privilege exceptions, written next to the resource for auditors and checked by the rules. */
  exceptions?: Exception[];
}

export interface Exception {
  /** Rule id the statement is exempt from (see src/checks/rules.ts). */
  rule: string;
  /** Sid of the statement the exception covers. */
  statement: string;
  reason: string;
}

export function role(props: RoleProps): Role {
  const resource = new Role({
    RoleName: props.name,
    Description: props.description,
    AssumeRolePolicyDocument: props.trust,
    ...(props.maxSessionSeconds ? { MaxSessionDuration: props.maxSessionSeconds } : {}),
    Policies: props.inlinePolicies?.map((p) => new Role.Policy({ PolicyName: p.name, PolicyDocument: p.document })),
    ...(props.awsManagedPolicies?.length ? { ManagedPolicyArns: props.awsManagedPolicies.map((name) => arn(`iam::aws:policy/${name}`)) } : {}),
  });
  if (props.exceptions?.length) resource.metadata(exceptionMetadata(props.exceptions));
  return resource;
}

export const exceptionMetadata = (exceptions: Exception[]) => ({ xstack: { exceptions } });

/** A scanner check that does not fit this architecture, suppressed on one resource with its reason. */
export interface ScannerSuppression {
  id: string;
  reason: string;
}

/**
 * Writes checkov's per-resource suppressions into the resource's metadata,
 * where checkov reads them and the audit report lists them.
 * https://www.checkov.io/2.Basics/Suppressing%20and%20Skipping%20Policies.html
 */
export function suppressChecks<R extends { Metadata?: Record<string, unknown> }>(resource: R, suppressions: ScannerSuppression[]): R {
  resource.Metadata = { ...(resource.Metadata ?? {}), checkov: { skip: suppressions.map((s) => ({ id: s.id, comment: s.reason })) } };
  return resource;
}

/** A CloudFormation logical id from free-form names: alphanumeric, PascalCase. */
export function logicalId(...parts: string[]): string {
  return parts
    .flatMap((p) => p.split(/[^A-Za-z0-9]+/))
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('');
}
