/** AWS limits the compiler respects, each with where AWS states it. */
import type { Org } from './org/model';

export const LIMITS = {
  /** https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html */
  /** Passed inline (TemplateBody); a larger template goes through S3 (src/deploy/template-store.ts). */
  templateBodyBytes: 51_200,
  /** From S3 (TemplateURL): "max size: 1 MB", https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackSet.html; cfn-lint counts 1,000,000 bytes. */
  templateUrlBytes: 1_000_000,
  parameters: 200,
  resources: 500,
  outputs: 200,
  /**
   * "Resource name", "Output name", "Parameter name", "Mapping name and mapping attribute name": "255 characters" (the
   * quotas page above); a condition is declared by "a logical ID" too (conditions-section-structure.html), and
   * cfn-lint holds each of these names to ^[a-zA-Z0-9]{1,255}$ (E8001 for conditions).
   */
  logicalIdChars: 255,
  /** https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html (default role trust policy length) */
  trustPolicyChars: 2_048,
  managedPolicyChars: 6_144,
  inlineRolePolicyChars: 10_240,
  /**
   * StackSets quotas, https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
   * (the page as read 2026-12-01; its 2023 version said 100 StackSets, 2,000 instances and 3,500 operations).
   * StackSets per administrator account and stack instances per StackSet are raised on request (Service Quotas).
   */
  stackSetsPerAdministrator: 1_000,
  stackInstancesPerStackSet: 100_000,
  /**
   * "StackSets instance operations: The maximum number of stack instances, across all stack sets, that you can run
   * operations on in each Region at the same time, per administrator account. 10,000 operations" (no way to raise it
   * given). A deploy keeps its operations within it: src/deploy/instance-budget.ts.
   */
  concurrentStackInstanceOperationsPerRegion: 10_000,
} as const;

/** Where AWS states EventBridge's quotas. */
export const EVENTBRIDGE_QUOTAS_DOC = 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html';

/**
 * EventBridge's "Number of rules", the "Maximum number of rules an account can
 * have per event bus": af-south-1 100, eu-south-1 100, each of the other
 * supported Regions 300; adjustable (Service Quotas, Amazon EventBridge,
 * L-244521F2), the page naming no maximum. EVENTBRIDGE_QUOTAS_DOC
 */
export const defaultRulesPerBus = (region: string): number => (region === 'af-south-1' || region === 'eu-south-1' ? 100 : 300);

/** Where AWS states the StackSets quotas above. */
export const CLOUDFORMATION_QUOTAS_DOC = 'https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html';

/** Over the inline limit a template is deployed from the template bucket (src/deploy/template-store.ts). */
export const needsTemplateBucket = (templateBody: string): boolean => utf8BytesOver(templateBody, LIMITS.templateBodyBytes);

/**
 * Whether a text's UTF-8 bytes are over `limit`, measured only where its length does not decide: UTF-8 writes each
 * UTF-16 unit of a string in 1 to 3 bytes (a surrogate pair's 4 bytes are 2 a unit, a lone surrogate's U+FFFD 3), so
 * a text longer than the limit is over it and one of at most a third of it is not (a template of a few MB is not
 * read through twice a compile to say so).
 */
export function utf8BytesOver(text: string, limit: number): boolean {
  if (text.length > limit) return true;
  if (text.length * 3 <= limit) return false;
  return Buffer.byteLength(text) > limit;
}

/** IAM counts policy size without white space. */
export const policyChars = (document: unknown): number => JSON.stringify(document).length;

/**
 * Size limits of the resource-based policies xstack writes, as each page states
 * them (src/checks/resource-policy-quotas.ts checks them per account):
 * - VPC endpoint policy: "The size of an endpoint policy cannot exceed 20,480
 *   characters, including white space." Not adjustable.
 *   https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html
 * - KMS key policy: "Key policy document size: 32 KB (32,768 bytes)", adjustable
 *   "No" (the key policy format also says "Up to 32 kilobytes (32,768 bytes)").
 *   https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html
 *   https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html#key-policy-format
 * - S3 bucket policy: "Bucket policies are limited to 20 KB in size." Read as
 *   20,480 bytes; the page says neither whether white space counts nor whether
 *   it can be raised (nothing in Service Quotas).
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-iam-policies.html
 * - EventBridge event bus policy: "Event bus policy size: 10,240, Adjustable:
 *   Yes, Maximum policy size, in characters. This policy size increases each
 *   time you grant access to another account." The whole policy of the bus
 *   counts, statements the account already has included. EVENTBRIDGE_QUOTAS_DOC
 * Bytes and characters are the same count here: every value these documents
 * hold is ASCII (ARNs of IAM names, account ids, repository and bucket names).
 */
export const RESOURCE_POLICY_LIMITS = {
  endpoint: { what: 'VPC endpoint policy', limit: 20_480, unit: 'characters', terms: 'including white space, fixed', doc: 'https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html' },
  key: { what: 'KMS key policy', limit: 32_768, unit: 'bytes', terms: 'fixed', doc: 'https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html' },
  bucket: { what: 'S3 bucket policy', limit: 20_480, unit: 'bytes', terms: '"20 KB"', doc: 'https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-iam-policies.html' },
  'event-bus': { what: 'EventBridge event bus policy', limit: 10_240, unit: 'characters', terms: 'the default, adjustable', doc: EVENTBRIDGE_QUOTAS_DOC },
  queue: { what: 'SQS queue policy', limit: 8_192, unit: 'bytes', terms: 'fixed', doc: 'https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-policies.html' },
} as const;
export type ResourcePolicyKind = keyof typeof RESOURCE_POLICY_LIMITS;

/**
 * The share of a resource policy's limit the compile lets its compact JSON
 * take. CloudFormation passes each document to the service as a JSON string and
 * no page says how it writes it; the services above count what they receive
 * (white space included for the endpoint policy, bytes for the key and bucket
 * policies). 5% covers a writer that puts a space after every `,` and `:`
 * (Python's json.dumps default: about 2% more on these documents, which are
 * mostly lists of ARNs); an indented one (about 25% more) is not covered. The
 * README's "verify once" list says how to settle it.
 */
export const RESOURCE_POLICY_SHARE = 0.95;

export const IAM_QUOTAS_DOC = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html';

/**
 * IAM's quotas that AWS raises on request: the default, and `approved`, the most its quotas page lists as approved
 * automatically ("The following table lists the resources for which quota increases can be automatically approved":
 * managed policies per role 10 → 25, role trust policy length 2,048 → 4,096 characters, roles 1,000 → 5,000;
 * IAM_QUOTAS_DOC). The org file takes any value from the default up (`iamQuotas`): what Service Quotas shows for the
 * accounts is the authority, and AWS has raised these maxima before (review s21-quota Q1).
 */
export const ADJUSTABLE_IAM_QUOTAS = {
  rolesPerAccount: { what: 'IAM roles in an account', default: 1000, approved: 5000 },
  instanceProfilesPerAccount: { what: 'instance profiles in an account', default: 1000, approved: 5000 },
  customerManagedPoliciesPerAccount: { what: 'customer managed policies in an account', default: 1500, approved: 5000 },
  managedPoliciesPerRole: { what: 'managed policies attached to a role', default: 10, approved: 25 },
  roleTrustPolicyChars: { what: 'characters of a role trust policy', default: 2048, approved: 4096 },
} as const;
export type AdjustableIamQuota = keyof typeof ADJUSTABLE_IAM_QUOTAS;

/** What a compile past an adjustable quota says to do: raise it, and declare it. */
export function raiseAdvice(quota: AdjustableIamQuota, limit: number): string {
  const { approved } = ADJUSTABLE_IAM_QUOTAS[quota];
  return limit < approved
    ? `; AWS raises it up to ${approved} on request (then set iamQuotas.${quota} in the org file)`
    : `; AWS's page lists ${approved} as the most it approves automatically: ask AWS for more through Service Quotas, then set iamQuotas.${quota} to what it grants`;
}

/** The org file's declared quotas, in the order ADJUSTABLE_IAM_QUOTAS lists them; empty when it declares none. */
export const declaredQuotas = (org: Org): Array<[AdjustableIamQuota, number]> =>
  (Object.keys(ADJUSTABLE_IAM_QUOTAS) as AdjustableIamQuota[]).flatMap((quota) => (org.iamQuotas[quota] === undefined ? [] : [[quota, org.iamQuotas[quota]!] as [AdjustableIamQuota, number]]));
