/**
 * The retained buckets and repositories a template names, by the names they have in an account: what a later create
 * meets, what plan and deploy look for, and what the reader role may read (src/deploy/retained.ts, reader-policy.ts).
 * Pure: no AWS client, so that a compile (the setup templates, src/setup.ts) reads them without loading the SDK.
 */
import { conditionHolds } from './account-switch';
import { keptOnDelete } from './deletion-policy';
import type { CfnTemplate } from './template';

/** A retained resource with a fixed name: a later create of the same stack meets it ("already exists"). */
export interface NamedRetained {
  logicalId: string;
  type: 'AWS::S3::Bucket' | 'AWS::CodeCommit::Repository';
  name: string;
}

const NAME_PROPERTY = { 'AWS::S3::Bucket': 'BucketName', 'AWS::CodeCommit::Repository': 'RepositoryName' } as const;

/** Whether a resource is retained under a name the template fixes: what a new stack would meet ("already exists"). */
export const retainedUnderFixedName = (r: { Type: string; DeletionPolicy?: string }): boolean => keptOnDelete(r.DeletionPolicy) && r.Type in NAME_PROPERTY;

/**
 * A template's resources retained under a fixed name, found once per template: a template of many accounts is read
 * for each of them (the SERVICE_MANAGED reader template reads every account's), and its few such resources are all
 * that differ by account.
 */
const fixedNamesOf = new WeakMap<CfnTemplate, Array<[string, CfnTemplate['Resources'][string]]>>();
function retainedUnderFixedNames(template: CfnTemplate): Array<[string, CfnTemplate['Resources'][string]]> {
  let found = fixedNamesOf.get(template);
  if (!found) fixedNamesOf.set(template, (found = Object.entries(template.Resources).filter(([, r]) => retainedUnderFixedName(r))));
  return found;
}

/** The retained buckets and repositories of a template in one account, their names as they would be there. */
export function namedRetained(template: CfnTemplate, account: string, region: string, partition: string): NamedRetained[] {
  const pseudo: Record<string, string> = { 'AWS::AccountId': account, 'AWS::Region': region, 'AWS::Partition': partition };
  const out: NamedRetained[] = [];
  for (const [logicalId, r] of retainedUnderFixedNames(template)) {
    // A family's resource exists only where its condition holds (src/stages/family.ts).
    if (r.Condition && !conditionHolds(template.Conditions, r.Condition, account)) continue;
    const type = r.Type as NamedRetained['type'];
    const name = fixedName((r.Properties as Record<string, unknown> | undefined)?.[NAME_PROPERTY[type]], pseudo);
    if (name !== undefined) out.push({ logicalId, type, name });
  }
  return out;
}

/** A name a template gives as text or as an Fn::Sub of pseudo parameters, as it is in an account; undefined for any other. */
function fixedName(raw: unknown, pseudo: Readonly<Record<string, string>>): string | undefined {
  const sub = typeof raw === 'string' ? raw : (raw as { 'Fn::Sub'?: unknown } | undefined)?.['Fn::Sub'];
  if (typeof sub !== 'string') return undefined;
  const name = sub.replace(/\$\{([^}]+)\}/g, (whole, n: string) => pseudo[n] ?? whole);
  return name.includes('${') ? undefined : name;
}

/**
 * The IAM roles a template makes in one account under the names it gives them (RoleName): a create of its stack
 * there meets a role of that name an earlier stack left ("already exists"). DeleteRole fails while anything is
 * attached ("you must delete the items attached to the role manually, or the deletion fails ... Attached managed
 * policies (DetachRolePolicy)", https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRole.html), as a managed
 * policy another stage attaches by name is (src/iam/attached-policies.ts), so the stack's delete fails, and the way
 * CloudFormation offers then keeps the role: "For stacks in the DELETE_FAILED state, a list of resource logical IDs
 * ... CloudFormation deletes the stack but doesn't delete the retained resources"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteStack.html, RetainResources).
 * Every role the templates write is named.
 */
export function namedRoles(template: CfnTemplate, account: string, region: string, partition: string): Array<{ logicalId: string; name: string }> {
  const pseudo: Record<string, string> = { 'AWS::AccountId': account, 'AWS::Region': region, 'AWS::Partition': partition };
  const out: Array<{ logicalId: string; name: string }> = [];
  for (const [logicalId, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::IAM::Role' || (r.Condition && !conditionHolds(template.Conditions, r.Condition, account))) continue;
    const name = fixedName((r.Properties as Record<string, unknown> | undefined)?.RoleName, pseudo);
    if (name !== undefined) out.push({ logicalId, name });
  }
  return out;
}

/** Whether a template's bucket is encrypted by default under a KMS key (the artifact bucket, under the account's key), not S3's own keys. */
export const encryptsWithKms = (bucket: { Properties?: unknown }): boolean => JSON.stringify((bucket.Properties as { BucketEncryption?: unknown } | undefined)?.BucketEncryption ?? {}).includes('aws:kms');

/**
 * A template's retained buckets in an account that are encrypted under a KMS key, by the names they have there: the
 * buckets whose earlier generations' names the reader may read the encryption of (reader-policy.ts) and destroy reads
 * (deployer.ts earlierBucketsUnderKey), one selection for both.
 */
export const kmsBucketsIn = (template: CfnTemplate, account: string, region: string, partition: string): NamedRetained[] =>
  namedRetained(template, account, region, partition).filter((r) => r.type === 'AWS::S3::Bucket' && encryptsWithKms(template.Resources[r.logicalId]));

