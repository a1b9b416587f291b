/**
 * A template's policy document measured before any account resolves it: the characters IAM would count in the
 * account, Region and partition that make it longest. IAM counts a policy's size in "non-whitespace characters"
 * (GetAccountSummary's quotas, https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountSummary.html; the
 * figures: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html), which compact JSON is; the
 * compile's quota check (src/checks/iam-quotas.ts policySizes) measures each account's resolved document the same way,
 * so a document within a quota by this count passes that check in every account.
 */
import { PARTITION_REGIONS, PARTITIONS } from '../aws/partitions';

/** The longest value each pseudo parameter takes where xstack deploys (an org's region is one of PARTITION_REGIONS). */
const LONGEST: Readonly<Record<string, string>> = {
  'AWS::Partition': PARTITIONS.reduce((a, b) => (b.length > a.length ? b : a)),
  'AWS::Region': Object.values(PARTITION_REGIONS)
    .flat()
    .reduce((a, b) => (b.length > a.length ? b : a)),
  'AWS::AccountId': '000000000000',
};

/** `${Name}` in a Fn::Sub template, replaced by its value in `values`; any other reference is a programming error. */
function resolvedSub(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`policy-size: \${${name}} has no known value to measure it with`);
    return value;
  });
}

/**
 * The JSON characters of `value` (a policy document or a part of one), each Fn::Sub of pseudo parameters replaced by
 * its value in `values`: IAM's count of the document as an account of those values receives it.
 */
export function charsWith(value: unknown, values: Readonly<Record<string, string>>): number {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const keys = Object.keys(v);
      const payload = (v as Record<string, unknown>)['Fn::Sub'];
      if (keys.length === 1 && typeof payload === 'string') return resolvedSub(payload, values);
    }
    return v;
  }).length;
}

/** The JSON characters of `value`, each Fn::Sub of pseudo parameters at its longest (LONGEST). */
export const charsAtMost = (value: unknown): number => charsWith(value, LONGEST);

/**
 * `items` in order, in as few packs as keep `document(pack, index)` within `limit` characters (charsAtMost). A
 * document's size is measured once a pack, with its first item; each further item adds its own characters and a comma,
 * plus the two brackets of a list (statement() writes one item as a string). An item too large alone still gets a pack
 * of its own: the quota check then names it.
 */
export function packWithin<T>(items: readonly T[], limit: number, document: (pack: readonly T[], index: number) => unknown): T[][] {
  const packs: T[][] = [];
  let i = 0;
  while (i < items.length) {
    const pack = [items[i]];
    let size = charsAtMost(document(pack, packs.length)) + 2;
    for (i++; i < items.length; i++) {
      const more = charsAtMost(items[i]) + 1;
      if (size + more > limit) break;
      pack.push(items[i]);
      size += more;
    }
    packs.push(pack);
  }
  return packs;
}
