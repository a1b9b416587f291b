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
    const raw = (r.Properties as Record<string, unknown> | undefined)?.[NAME_PROPERTY[type]];
    const sub = typeof raw === 'string' ? raw : (raw as { 'Fn::Sub'?: unknown } | undefined)?.['Fn::Sub'];
    if (typeof sub !== 'string') continue;
    const name = sub.replace(/\$\{([^}]+)\}/g, (whole, n: string) => pseudo[n] ?? whole);
    if (!name.includes('${')) out.push({ logicalId, type, name });
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

