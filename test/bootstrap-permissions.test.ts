/**
 * The README's list of what the identity running bootstrap needs (review s27-bootstrap m9) holds every AWS call
 * bootstrap's own modules make, each as the IAM action that authorizes it. moto evaluates no IAM, so this is the one
 * place a call added to bootstrap without its permission in the README is caught.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const SERVICE_OF_MODULE: Record<string, string> = {
  '@aws-sdk/client-iam': 'iam',
  '@aws-sdk/client-s3': 's3',
  '@aws-sdk/client-cloudformation': 'cloudformation',
  '@aws-sdk/client-organizations': 'organizations',
  '@aws-sdk/client-sts': 'sts',
};

/**
 * S3 API operations whose IAM action has another name (Service Authorization Reference, Amazon S3, "Actions defined
 * by Amazon S3": https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html).
 */
const S3_ACTION_OF: Record<string, string> = {
  HeadBucket: 'ListBucket',
  PutBucketEncryption: 'PutEncryptionConfiguration',
  GetBucketEncryption: 'GetEncryptionConfiguration',
  PutPublicAccessBlock: 'PutBucketPublicAccessBlock',
  GetPublicAccessBlock: 'GetBucketPublicAccessBlock',
  PutBucketLifecycleConfiguration: 'PutLifecycleConfiguration',
  GetBucketLifecycleConfiguration: 'GetLifecycleConfiguration',
};

/** Calls that need no permission: "No permissions are required to perform this operation" (API_GetCallerIdentity.html). */
const UNAUTHORIZED_CALLS = new Set(['sts:GetCallerIdentity']);

/** Each IAM action a module's SDK calls need: its imported commands and paginators, by the client module they come from. */
function actionsOf(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const actions: string[] = [];
  for (const [, names, module] of source.matchAll(/import \{([^}]*)\} from '(@aws-sdk\/client-[a-z0-9-]+)'/g)) {
    const service = SERVICE_OF_MODULE[module];
    expect(service, `${file}: ${module}`).toBeDefined();
    for (const raw of names.split(',')) {
      const name = raw.trim().replace(/^type /, '');
      const operation = /^paginate(\w+)$/.exec(name)?.[1] ?? /^(\w+)Command$/.exec(name)?.[1];
      if (!operation || !new RegExp(`\\b${name}\\b`).test(source.replace(/import \{[^}]*\} from '[^']+';/g, ''))) continue;
      const action = `${service}:${service === 's3' ? (S3_ACTION_OF[operation] ?? operation) : operation}`;
      if (!UNAUTHORIZED_CALLS.has(action)) actions.push(action);
    }
  }
  return actions;
}

/**
 * Calls bootstrap makes through another module's helper, which the import scan cannot see (review s42-bootstrap m2): how
 * src/deploy/bootstrap.ts makes the call (so that an entry whose call is gone fails here), the IAM action, the bullet of
 * the README's list that must name it, and what the same clause (up to a `;`) must name with it: the resource.
 */
const THROUGH_HELPERS: Array<{ call: RegExp; action: string; bullet: string; on?: string }> = [
  // accessRole: clients.ts assumeRefreshing of each target account's access role.
  { call: /\baws\.assumeRefreshing\(`arn:\$\{org\.partition\}:iam::\$\{account\}:role\/\$\{named \?\? DEFAULT_ACCESS_ROLE\}`/, action: 'sts:AssumeRole', bullet: 'SELF_MANAGED, the rest', on: 'access role' },
  // awaitAssumable: clients.ts assume of each reader role the run wrote, before bootstrap ends.
  { call: /\baws\.assume\(role, undefined, org\.region\)/, action: 'sts:AssumeRole', bullet: 'SELF_MANAGED, the rest', on: '`<prefix>-xstack-reader`' },
  // serviceManagedQuotas: clients.ts assumeRefreshing of the setup template's reader, with iamQuotas.
  { call: /\baws\.assumeRefreshing\(`arn:\$\{org\.partition\}:iam::\$\{account\}:role\/\$\{reader\}`/, action: 'sts:AssumeRole', bullet: 'SERVICE_MANAGED', on: '`<prefix>-xstack-reader`' },
  // accessRoleRefused: org-reads.ts state (DescribeAccount) of an account whose access role STS refused.
  { call: /\borganization\.state\(account\)/, action: 'organizations:DescribeAccount', bullet: 'SELF_MANAGED, the rest', on: 'access role' },
  // deployedOrgTemplates: stacksets.ts listOrgStackSets.
  { call: /\blistOrgStackSets\(/, action: 'cloudformation:ListStackSets', bullet: 'SELF_MANAGED, the rest' },
  // announceAdministrator (either model), checkServiceManaged: org-reads.ts managementAccount.
  { call: /\.managementAccount\(\)/, action: 'organizations:DescribeOrganization', bullet: 'SELF_MANAGED, the rest' },
  { call: /\.managementAccount\(\)/, action: 'organizations:DescribeOrganization', bullet: 'SERVICE_MANAGED' },
  // checkServiceManaged: org-reads.ts rootId.
  { call: /\.rootId\(\)/, action: 'organizations:ListRoots', bullet: 'SERVICE_MANAGED' },
  // ensureTemplateBucket: template-store.ts templateBucketState (HeadBucket).
  { call: /\btemplateBucketState\(/, action: 's3:ListBucket', bullet: 'SELF_MANAGED, the rest', on: 'template bucket' },
];

describe("what the identity running bootstrap needs (README, bootstrap)", () => {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('#### What the identity running bootstrap needs'), readme.indexOf('### deploy'));

  it('the README has the list', () => {
    expect(section.length).toBeGreaterThan(200);
  });

  /** The list's bullet whose bold title starts with `title`, cut into its clauses (at each `;`). */
  const clausesOf = (title: string) => {
    const bullet = section.split('\n- **').find((b) => b.startsWith(title));
    expect(bullet, title).toBeDefined();
    return bullet!.replace(/\s+/g, ' ').split(';');
  };

  for (const { call, action, bullet, on } of THROUGH_HELPERS) {
    it(`a call through a helper: ${action}${on ? ` on ${on}` : ''} in the ${bullet} bullet (review s42-bootstrap m2)`, () => {
      expect(readFileSync('src/deploy/bootstrap.ts', 'utf8')).toMatch(call);
      const clause = clausesOf(bullet).find((c) => c.includes(`\`${action}\``) && (on === undefined || c.includes(on)));
      expect(clause, `${bullet}: \`${action}\`${on ? ` with ${on} in one clause` : ''}`).toBeDefined();
    });
  }

  for (const file of ['src/deploy/bootstrap.ts', 'src/deploy/bootstrap-tags.ts', 'src/deploy/account-quotas.ts']) {
    it(`${file}: every call it makes is in the list, as its IAM action`, () => {
      const actions = actionsOf(file);
      expect(actions.length).toBeGreaterThan(0);
      for (const action of actions) expect(section, action).toContain(`\`${action}\``);
    });
  }
});
