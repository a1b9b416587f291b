/**
 * The org file's `tags` on what bootstrap makes itself (the StackSets' own are src/aws/tags.ts): the administration
 * and execution roles, the execution policy's managed policies, and the template bucket. An Organization whose SCP
 * refuses a create without its tags (`aws:RequestTag`) refuses bootstrap's creates as much as the StackSets' ones, so
 * they go with the create call:
 * - CreateRole and CreatePolicy `Tags`: "A list of tags that you want to attach to the new role/policy … If any one of
 *   the tags is invalid or if you exceed the allowed maximum number of tags, then the entire request fails and the
 *   resource is not created" (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html,
 *   https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicy.html); the caller needs iam:TagRole or
 *   iam:TagPolicy for them (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html).
 * - CreateBucket's `CreateBucketConfiguration.Tags`: "You must have the s3:TagResource permission to create a general
 *   purpose bucket with tags" (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucketConfiguration.html;
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/buckets-tagging.html).
 *
 * What exists already is given the org's tags it lacks, or holds with another value: TagRole and TagPolicy add or
 * overwrite the keys they name and leave the others ("If a tag with the same key name already exists, then that tag
 * is overwritten with the new value", https://docs.aws.amazon.com/IAM/latest/APIReference/API_TagRole.html);
 * PutBucketTagging replaces the bucket's whole set ("it will overwrite any current tags the bucket already has",
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketTagging.html), so the set sent is the bucket's with the
 * org's merged in. Nothing is taken off: the roles may be shared with other orgs (the default role names), whose
 * keys these may be, so a key taken out of the org file stays on them until removed by hand (README, bootstrap).
 *
 * IAM's keys are compared without case, as src/aws/tags.ts does for the StackSets' (the org file refuses two keys
 * that differ only in case): a role holding the org's key in another case with another value is sent the org's key
 * and value, right whichever way IAM reads the case (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html,
 * "Case sensitivity"); with the same value it is left as it is (a tag policy that checks the key's capitalization
 * would see the role's). S3's with case.
 */
import { paginateListPolicyTags, paginateListRoleTags, TagPolicyCommand, TagRoleCommand, type IAMClient, type Tag as IamTag } from '@aws-sdk/client-iam';
import { GetBucketTaggingCommand, PutBucketTaggingCommand, type S3Client, type Tag as S3Tag } from '@aws-sdk/client-s3';

export type OrgTags = ReadonlyArray<readonly [key: string, value: string]>;

/** IAM's tags a role or managed policy may have (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html: "Tags per IAM role/customer managed policy: 50"). */
export const MAX_IAM_TAGS = 50;
/** S3's tags a bucket may have: "You can associate up to 50 tags with a bucket" (buckets-tagging.html). */
export const MAX_BUCKET_TAGS = 50;

/** The org's tags as a create call takes them; undefined without any, so that the call is sent as before. */
export function createTagList(orgTags: OrgTags): Array<{ Key: string; Value: string }> | undefined {
  return orgTags.length === 0 ? undefined : orgTags.map(([Key, Value]) => ({ Key, Value }));
}

/** The org's tags in words, as a create reports them: `K=v, …`. */
export const tagsText = (tags: OrgTags) => tags.map(([k, v]) => `${k}=${v}`).join(', ');

/** The org's tags a resource lacks, or holds with another value (its keys compared without case where the service does). */
export function tagsToWrite(current: ReadonlyMap<string, string>, orgTags: OrgTags, caseInsensitive: boolean): Array<readonly [string, string]> {
  const norm = (k: string) => (caseInsensitive ? k.toLowerCase() : k);
  const held = new Map([...current].map(([k, v]) => [norm(k), v]));
  return orgTags.filter(([k, v]) => held.get(norm(k)) !== v);
}

/** The change in words: `+K=v` for a key added, `K: a → b` for a value changed. */
export function tagChangeText(current: ReadonlyMap<string, string>, writes: ReadonlyArray<readonly [string, string]>, caseInsensitive: boolean): string {
  const norm = (k: string) => (caseInsensitive ? k.toLowerCase() : k);
  const held = new Map([...current].map(([k, v]) => [norm(k), v]));
  return writes.map(([k, v]) => (held.has(norm(k)) ? `${k}: ${held.get(norm(k))} → ${v}` : `+${k}=${v}`)).join(', ');
}

/** Where a step is, how it is reported, and whether it writes. Only existing resources are tagged here (never one this run created, which IAM may not show yet). */
export interface TagWrites {
  account: string;
  dry: boolean;
  report: (step: { account: string; what: string; status: 'ok' | 'change' | 'missing'; detail?: string }) => void;
}

/**
 * The org's tags on an existing role: those it lacks written, past IAM's 50 said and left. `reserved`: keys the run
 * adds afterwards (the administration role's record), room for which is kept.
 */
export async function ensureRoleTags(iam: IAMClient, role: string, orgTags: OrgTags, writes: TagWrites, reserved: readonly string[] = []): Promise<void> {
  if (orgTags.length === 0) return;
  const current = new Map<string, string>();
  for await (const page of paginateListRoleTags({ client: iam }, { RoleName: role })) for (const t of page.Tags ?? []) current.set(t.Key!, t.Value ?? '');
  const room = MAX_IAM_TAGS - reserved.filter((k) => !current.has(k)).length;
  await writeIamTags(`role ${role}`, current, orgTags, writes, (Tags) => iam.send(new TagRoleCommand({ RoleName: role, Tags })), room);
}

/** The org's tags on an existing managed policy, as for a role. */
export async function ensurePolicyTags(iam: IAMClient, name: string, arn: string, orgTags: OrgTags, writes: TagWrites): Promise<void> {
  if (orgTags.length === 0) return;
  const current = new Map<string, string>();
  // Page by page (IsTruncated, Marker: https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListPolicyTags.html).
  for await (const page of paginateListPolicyTags({ client: iam }, { PolicyArn: arn })) for (const t of page.Tags ?? []) current.set(t.Key!, t.Value ?? '');
  await writeIamTags(`managed policy ${name}`, current, orgTags, writes, (Tags) => iam.send(new TagPolicyCommand({ PolicyArn: arn, Tags })));
}

async function writeIamTags(what: string, current: ReadonlyMap<string, string>, orgTags: OrgTags, { account, dry, report }: TagWrites, write: (tags: IamTag[]) => Promise<unknown>, room = MAX_IAM_TAGS) {
  const writes = tagsToWrite(current, orgTags, true);
  const step = `${what}: tags`;
  if (writes.length === 0) return report({ account, what: step, status: 'ok' });
  const added = writes.filter(([k]) => ![...current.keys()].some((c) => c.toLowerCase() === k.toLowerCase())).length;
  if (current.size + added > room) {
    const kept = room < MAX_IAM_TAGS ? ` (${MAX_IAM_TAGS - room} kept for bootstrap's own record)` : '';
    return report({ account, what: step, status: 'missing', detail: `not written: it has ${current.size} tags and the org file's would add ${added}, past IAM's ${MAX_IAM_TAGS}${kept}; remove tags it no longer needs, then run bootstrap again` });
  }
  report({ account, what: step, status: 'change', detail: tagChangeText(current, writes, true) });
  if (!dry) await write(writes.map(([Key, Value]) => ({ Key, Value })));
}

/**
 * The org's tags on the existing template bucket: its set with theirs merged in (PutBucketTagging replaces the set).
 * Its steps come after the administration role's record (bootstrap.ts runs the bucket last), which therefore does
 * not wait for them.
 */
export async function ensureBucketTags(s3: S3Client, bucket: string, owner: string, orgTags: OrgTags, { account, dry, report }: TagWrites): Promise<void> {
  if (orgTags.length === 0) return;
  let tagSet: S3Tag[] = [];
  try {
    tagSet = (await s3.send(new GetBucketTaggingCommand({ Bucket: bucket, ExpectedBucketOwner: owner }))).TagSet ?? [];
  } catch (error) {
    // "NoSuchTagSet: There is no tag set associated with the bucket" (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketTagging.html).
    if ((error as { name?: string }).name !== 'NoSuchTagSet') throw error;
  }
  const current = new Map(tagSet.map((t) => [t.Key!, t.Value ?? '']));
  const writes = tagsToWrite(current, orgTags, false);
  const step = `template bucket ${bucket}: tags`;
  if (writes.length === 0) return report({ account, what: step, status: 'ok' });
  const merged = new Map(current);
  for (const [k, v] of writes) merged.set(k, v);
  if (merged.size > MAX_BUCKET_TAGS) {
    return report({ account, what: step, status: 'missing', detail: `not written: it has ${current.size} tags and the org file's would make ${merged.size}, past S3's ${MAX_BUCKET_TAGS}; remove tags it no longer needs, then run bootstrap again` });
  }
  const change = tagChangeText(current, writes, false);
  if (dry) return report({ account, what: step, status: 'change', detail: change });
  try {
    await s3.send(new PutBucketTaggingCommand({ Bucket: bucket, ExpectedBucketOwner: owner, Tagging: { TagSet: [...merged].map(([Key, Value]) => ({ Key, Value })) } }));
    report({ account, what: step, status: 'change', detail: change });
  } catch (error) {
    // The caller may lack s3:PutBucketTagging; or ABAC is enabled on the bucket, which then takes tags only through
    // TagResource: "When you enable ABAC for a general purpose bucket, you can no longer use this operation"
    // (API_PutBucketTagging.html). xstack never enables it. Either way the bucket is left as it is, and said so.
    const why = (error as { name?: string }).name === 'AccessDenied' ? 'the identity that bootstraps needs s3:PutBucketTagging (and s3:GetBucketTagging) on it' : 'if ABAC is enabled on it, tag it with the S3 Control TagResource yourself, or turn ABAC off';
    report({ account, what: step, status: 'missing', detail: `not written (${change}): S3 refused them (${(error as Error).message}); ${why}, then run bootstrap again` });
  }
}
