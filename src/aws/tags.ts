/**
 * The org file's `tags`: key-value pairs every StackSet of the org carries beside xstack's own, which CloudFormation
 * passes on to the stacks and to the resources that take tags: CreateStackSet `Tags`, "The key-value pairs to
 * associate with this stack set and the stacks created from it. CloudFormation also propagates these tags to supported
 * resources that are created in the stacks"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackSet.html). For an Organization
 * whose SCP refuses a create without its tags (`aws:RequestTag`), or whose tag policy wants them on its resources.
 *
 * - A StackSet's tag: Key 1 to 128 characters, pattern `^(?!aws:.*)[a-zA-Z0-9\s\:\_\.\/\=\+\-]+$`; Value 1 to 256
 *   (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-cloudformation-stackset-tag.html;
 *   the API's Tag, https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Tag.html). The values are also
 *   every tagged service's, so the characters they may hold are the ones IAM (the narrowest of the org's services)
 *   takes too, letters, digits, spaces and `_.:/=+-@` (TagRole: `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`,
 *   https://docs.aws.amazon.com/IAM/latest/APIReference/API_Tag.html), in ASCII.
 * - "You can specify a maximum number of 50 tags" a StackSet (UpdateStackSet `Tags`,
 *   https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackSet.html). xstack's own take
 *   three: `xstack:stackset`, `xstack:wave`, and `xstack:tags`, the keys the org file's tags had at the last create or
 *   update, so that a key taken out of the org file is taken off (UpdateStackSet's Tags replace the StackSet's: "Any
 *   tags that you don't include in the updated list of tags are removed from the StackSet, and therefore from the stacks
 *   and resources as well"), while a tag someone else added is kept.
 */
import type { Tag } from '@aws-sdk/client-cloudformation';

export const STACKSET_TAG = 'xstack:stackset';
export const WAVE_TAG = 'xstack:wave';
/** The tag a template's launch template is created with, which the execution role's writes on launch templates are held to (execution-policy.ts launchTemplateStatements). */
export const LAUNCH_TEMPLATE_TAG = 'xstack:launch-template';
/** The org file's tag keys at the StackSet's last create or tag update, space-separated (keys hold no space here: ORG_TAG_KEY). */
export const ORG_TAG_KEYS_TAG = 'xstack:tags';

/** "You can specify a maximum number of 50 tags" (UpdateStackSet, Tags). */
export const MAX_STACKSET_TAGS = 50;
/** What the org file may give: the 50 less xstack's three. */
export const MAX_ORG_TAGS = MAX_STACKSET_TAGS - 3;

/** The StackSet pattern without `\s`: a key is recorded in xstack:tags, space-separated. */
export const ORG_TAG_KEY = /^[A-Za-z0-9:_./=+-]{1,128}$/;
export const ORG_TAG_KEY_EXPECTED = "a tag key: 1 to 128 of letters, digits and :_./=+- (no spaces), not starting with 'aws:' or 'xstack:'";
export const ORG_TAG_VALUE = /^[A-Za-z0-9 _.:/=+\-@]{1,256}$/;
export const ORG_TAG_VALUE_EXPECTED = 'a tag value: 1 to 256 of letters, digits, spaces and _.:/=+-@ (what CloudFormation and IAM both take), in quotes if YAML would read it as a number or true/false';
/** All of the keys in one tag value: 256 characters. */
const MAX_KEYS_CHARS = 256;

/** What is wrong with a key (its pattern checked), or undefined. */
export function orgTagKeyProblem(key: string): string | undefined {
  if (/^aws:/i.test(key)) return `'${key}' starts with 'aws:', which AWS keeps for its own tags`;
  if (/^xstack:/i.test(key)) return `'${key}' starts with 'xstack:', which xstack keeps for its own tags`;
  return undefined;
}

/** What is wrong with the org file's tags as a whole, or undefined. */
export function orgTagsProblem(tags: ReadonlyArray<readonly [string, string]>): string | undefined {
  if (tags.length > MAX_ORG_TAGS) return `${tags.length} tags; a StackSet takes ${MAX_STACKSET_TAGS}, and xstack's own take 3, so at most ${MAX_ORG_TAGS}`;
  const chars = tags.map(([k]) => k).join(' ').length;
  if (chars > MAX_KEYS_CHARS) return `the keys take ${chars} characters written together; xstack records them in one tag (${ORG_TAG_KEYS_TAG}) of at most ${MAX_KEYS_CHARS}, so that a key taken out of the org file is taken off the StackSets: use shorter or fewer keys`;
  const lower = new Map<string, string>();
  for (const [k] of tags) {
    const other = lower.get(k.toLowerCase());
    if (other !== undefined) return `'${k}' and '${other}' differ only in case, which IAM and several other services read as one key`;
    lower.set(k.toLowerCase(), k);
  }
  return undefined;
}

/** The tags of a StackSet xstack creates: its own, then the org file's (with the record of their keys). */
export function createTags(stackSet: string, wave: number, orgTags: ReadonlyArray<readonly [string, string]>): Tag[] {
  return [{ Key: STACKSET_TAG, Value: stackSet }, { Key: WAVE_TAG, Value: String(wave) }, ...orgTagEntries(orgTags)];
}

const orgTagEntries = (orgTags: ReadonlyArray<readonly [string, string]>): Tag[] =>
  orgTags.length === 0 ? [] : [{ Key: ORG_TAG_KEYS_TAG, Value: orgTags.map(([k]) => k).join(' ') }, ...orgTags.map(([Key, Value]) => ({ Key, Value }))];

/**
 * The tags an update of a StackSet sends, from the ones it has (`actual`): its `aws:` tags left out (no caller may set
 * them; they stay), xstack's wave as given, the org file's tags with the record of their keys, a key the record holds
 * that the org file no longer has left off, and every other tag as it is. `change`: the org file's tags that differ,
 * in words (none: only the wave, or nothing, differs). `tags`: undefined when nothing differs at all, or when the
 * StackSet would pass its 50 with the tags others added (said in `tooMany`).
 */
export function updateTags(actual: readonly Tag[], wave: number, orgTags: ReadonlyArray<readonly [string, string]>): { tags?: Tag[]; change?: string; tooMany?: string } {
  const value = new Map(actual.map((t) => [t.Key ?? '', t.Value ?? '']));
  const recorded = (value.get(ORG_TAG_KEYS_TAG) ?? '').split(' ').filter(Boolean);
  const wanted = new Map(orgTags.map(([k, v]) => [k, v]));
  const changes = [
    ...orgTags.filter(([k, v]) => value.get(k) !== v).map(([k, v]) => (value.has(k) ? `${k}: ${value.get(k)} → ${v}` : `+${k}=${v}`)),
    ...recorded.filter((k) => !wanted.has(k) && value.has(k)).map((k) => `-${k}`),
  ];
  const keysRecord = orgTags.map(([k]) => k).join(' ');
  const recordChanges = keysRecord !== (value.get(ORG_TAG_KEYS_TAG) ?? '');
  const waveChanges = value.get(WAVE_TAG) !== String(wave);
  if (changes.length === 0 && !recordChanges && !waveChanges) return {};
  // Keys compared without case, as IAM (and so every role the tags reach) reads them: a tag someone added under an org
  // key in another case gives way to the org file's, which a role could not take beside it.
  const ours = new Set([...wanted.keys(), ...recorded].map((k) => k.toLowerCase()));
  const others = actual.filter((t) => {
    const key = t.Key ?? '';
    return !key.startsWith('aws:') && key !== WAVE_TAG && key !== ORG_TAG_KEYS_TAG && !ours.has(key.toLowerCase());
  });
  const tags = [...others, { Key: WAVE_TAG, Value: String(wave) }, ...orgTagEntries(orgTags)];
  const change = changes.length > 0 ? changes.join(', ') : undefined;
  if (tags.length > MAX_STACKSET_TAGS) {
    const added = others.filter((t) => t.Key !== STACKSET_TAG).length;
    return { ...(change ? { change } : {}), tooMany: `with the ${added} tags others added to it, the StackSet would have ${tags.length}, over the ${MAX_STACKSET_TAGS} CloudFormation allows` };
  }
  return { tags, ...(change ? { change } : {}) };
}

/**
 * The resource types of xstack's templates that CloudFormation does not tag, or tags only after the create call, from
 * their registry schemas' `tagging` (`taggable`, `tagOnCreate`; test/tags.test.ts reads cfn-lint's copies and checks
 * this list against every type the compiled templates hold): a StackSet's tags reach none of these on create, so an
 * SCP that refuses their create call without a tag (`aws:RequestTag`) refuses them whatever the org file says.
 * https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html (tagging)
 */
export const NOT_TAGGED_ON_CREATE: ReadonlySet<string> = new Set([
  'AWS::EC2::LaunchTemplate',
  'AWS::EC2::Route',
  'AWS::EC2::SubnetRouteTableAssociation',
  'AWS::EC2::VPCGatewayAttachment',
  'AWS::Events::EventBusPolicy',
  'AWS::IAM::InstanceProfile',
  'AWS::IAM::ManagedPolicy',
  'AWS::KMS::Alias',
  'AWS::S3::BucketPolicy',
  'AWS::SQS::QueuePolicy',
]);
