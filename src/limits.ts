/** AWS limits the compiler respects, each with where AWS states it. */
export const LIMITS = {
  /** https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html */
  /** Passed inline (TemplateBody); a larger template goes through S3 (src/deploy/template-store.ts). */
  templateBodyBytes: 51_200,
  /** From S3 (TemplateURL): "max size: 1 MB", https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackSet.html; cfn-lint counts 1,000,000 bytes. */
  templateUrlBytes: 1_000_000,
  parameterValueBytes: 4_096,
  parameters: 200,
  resources: 500,
  outputs: 200,
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
  /** Operations queued for one StackSet at a given time. */
  queuedOperationsPerStackSet: 10_000,
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
export const needsTemplateBucket = (templateBody: string): boolean => Buffer.byteLength(templateBody) > LIMITS.templateBodyBytes;

/** IAM counts policy size without white space. */
export const policyChars = (document: unknown): number => JSON.stringify(document).length;
