/** Resource shapes several templates share. */
import ManagedPolicy from 'cloudform-types/types/iam/managedPolicy';
import Role from 'cloudform-types/types/iam/role';
import type { PolicyDocument } from '../iam/policy';
import { ref } from './intrinsics';
import { rolePolicy } from '../naming';
import { newRecord } from './template';

export interface RoleProps {
  name: string;
  description: string;
  trust: PolicyDocument;
  /** 3,600 to 43,200; the AWS default (one hour) when omitted. */
  maxSessionSeconds?: number;
  /**
   * The role's permissions, each a customer managed policy attached to it
   * (not inline: CIS / NIST 800-53 rule sets flag inline policies, and managed
   * ones are versioned), named `<role>-<name>`.
   */
  policies?: Array<{ name: string; document: PolicyDocument }>;
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

/** A role and its managed policies, by logical id: `<id>` and `<id><PolicyName>`. */
export function role(id: string, props: RoleProps): Record<string, Role | ManagedPolicy> {
  const resource = new Role({
    RoleName: props.name,
    Description: props.description,
    AssumeRolePolicyDocument: props.trust,
    ...(props.maxSessionSeconds ? { MaxSessionDuration: props.maxSessionSeconds } : {}),
  });
  // An exception sits on the resource whose document holds its statement.
  const exceptionsFor = (doc: PolicyDocument) => (props.exceptions ?? []).filter((e) => doc.Statement.some((st) => st.Sid === e.statement));
  const withExceptions = <R extends Role | ManagedPolicy>(r: R, doc: PolicyDocument): R => {
    const exceptions = exceptionsFor(doc);
    return exceptions.length > 0 ? (r.metadata(exceptionMetadata(exceptions)) as R) : r;
  };
  // Keyed by logical ids of its own: a newRecord (template.ts says why).
  const resources = newRecord<Role | ManagedPolicy>();
  resources[id] = withExceptions(resource, props.trust);
  for (const policy of props.policies ?? []) {
    resources[logicalId(id, policy.name)] = withExceptions(
      new ManagedPolicy({
        ManagedPolicyName: rolePolicy(props.name, policy.name),
        // Create-only and the policy is named: a wording change is refused by plan/deploy (src/deploy/replacements.ts).
        Description: `Permissions of role ${props.name}: ${policy.name}`,
        Roles: [ref(id)],
        PolicyDocument: policy.document,
      }),
      policy.document,
    );
  }
  return resources;
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
  let id = '';
  // Each word (a run of letters and digits) capitalised, as split(/[^A-Za-z0-9]+/) would cut them, without the split: every unit's logical ids pass here.
  for (const part of parts) {
    let start = -1;
    for (let i = 0; i <= part.length; i++) {
      const inWord = i < part.length && isAlphanumeric(part.charCodeAt(i));
      if (inWord && start < 0) start = i;
      else if (!inWord && start >= 0) {
        id += part[start].toUpperCase() + part.slice(start + 1, i);
        start = -1;
      }
    }
  }
  return id;
}

const isAlphanumeric = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
