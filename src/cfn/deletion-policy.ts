/**
 * DeletionPolicy values, and which of them keep a resource. No imports: the audit report and the deployer read
 * it alike. The writer is `retain` (src/cfn/extensions.ts), which says why xstack writes RetainExceptOnCreate.
 */

/**
 * DeletionPolicy, with RetainExceptOnCreate, which the cloudform-types specification predates.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html
 */
export type DeletionPolicy = 'Delete' | 'Retain' | 'RetainExceptOnCreate' | 'Snapshot';

/**
 * The deletion policies that keep a resource when its stack is deleted or its template drops it. Every reader of
 * a template's DeletionPolicy (destroy's retained resources, the collision check, family moves, the audit report)
 * asks this, never compares with 'Retain': a stack deployed before RetainExceptOnCreate still says Retain, and
 * once the create that made a resource has succeeded the two behave alike.
 */
export const keptOnDelete = (policy: string | undefined): boolean => policy === 'Retain' || policy === 'RetainExceptOnCreate';
