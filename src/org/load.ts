/**
 * Reads an organization file and validates it completely: every problem of the
 * file is reported at once, each with file, line, column, field, what was wrong
 * and what is accepted.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { recordedPath } from './recorded-path';
import { matches } from '../audit/evaluate';
import { sampleOf } from '../audit/samples';
import { azIdPrefix, CODECOMMIT_REGIONS, PARTITIONS, PARTITION_REGIONS, partitionOfRegion, regionProblem, type Partition } from '../aws/partitions';
import { logicalId } from '../cfn/resources';
import { OrgFileError, XstackError } from '../errors';
import { ADJUSTABLE_IAM_QUOTAS, defaultRulesPerBus } from '../limits';
import { EXISTING_ROLE_EXPECTED, EXISTING_ROLE_PATTERN, existingRoleProblem, KEY_ADMINISTRATOR_EXPECTED, KEY_ADMINISTRATOR_PATTERN, sameRoleTwice } from '../iam/role-path';
import { BOUNDARY_EXPECTED, BOUNDARY_PATTERN, boundaryProblem } from '../iam/permissions-boundary';
import { MAX_ORG_TAGS, ORG_TAG_KEY, ORG_TAG_KEY_EXPECTED, orgTagKeyProblem, orgTagsProblem, ORG_TAG_VALUE, ORG_TAG_VALUE_EXPECTED } from '../aws/tags';
import { Names, nameProblem } from '../naming';
import { DEFAULT_ARTIFACT_RETENTION_DAYS, deployedName, firstNamed, OTHER_ACCOUNT, SERVICE_MANAGED_EXECUTION_ROLE, type Access, type Account, type Org, type Pipeline, type Repository, type StackSetSettings } from './model';
import { acceptsOnly, bool, closest, Context, int, list, mapOf, obj, optional, partialObj, required, str, type StringRule } from './schema';
import { readPositioned, readQuick, type SourceNode } from './source';
import { LAYOUT_FORMAT, movedOrgProblems, ORG_FILE_EXTENSIONS, readLayout } from '../stages/layout';
import { CONFLICT_MARKERS } from '../write';

const NAME = /^[a-z][a-z0-9-]{0,38}[a-z0-9]$/;

/**
 * xstack's pipelines are CodePipeline pipelines: "Amazon CodePipeline is not available in the Beijing and Ningxia
 * Regions" (https://docs.amazonaws.cn/en_us/aws/latest/userguide/codebuild.html, the China Regions' differences).
 * Their templates would compile, and fail at the first pipeline created; so an org in aws-cn is refused. Contested
 * (review s31-partitions B1, 2026-12): the cn-north-1 and cn-northwest-1 registries cfn-lint 1.58 ships list
 * AWS::CodePipeline::Pipeline. What lifting it would take, and the call that settles it: README, "Not yet".
 */
const NO_CODEPIPELINE = 'CodePipeline, which runs every pipeline xstack compiles, is not available in the China Regions (Beijing, Ningxia)';
const ORG_PARTITIONS = PARTITIONS.filter((p) => p !== 'aws-cn');

/** EventBridge's default rules per bus, by Region, in words: the least eventBridgeQuotas.rulesPerBus takes (checked in buildOrg). */
const DEFAULT_RULES_PER_BUS_NOTE = (() => {
  const regions = ORG_PARTITIONS.flatMap((p) => PARTITION_REGIONS[p]);
  const usual = defaultRulesPerBus('us-east-1');
  const lower = regions.filter((r) => defaultRulesPerBus(r) !== usual);
  return `EventBridge's default is ${usual} rules per event bus, ${lower.map((r) => `${defaultRulesPerBus(r)} in ${r}`).join(', ')}`;
})();
/** ECR's repositoryName pattern (CreateRepository): slash-separated parts, each runs of [a-z0-9] joined by one of '.', '_', '-'. */
const ECR_REPOSITORY_NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const NAME_EXPECTED = 'lowercase letters, digits and hyphens, starting with a letter and ending in a letter or digit, 2 to 40 characters';

/** https://docs.aws.amazon.com/codecommit/latest/userguide/limits.html */
const REPOSITORY_NAME = {
  expected: 'a CodeCommit repository name: 1 to 100 letters, digits, ".", "_" or "-", not ending in ".git"',
  pattern: /^[\w.-]{1,100}$/,
  refine: (v: string) => (v.endsWith('.git') ? 'repository names may not end in .git' : v === '.' || v === '..' ? `'${v}' is reserved` : undefined),
};
const repositoryName = str(REPOSITORY_NAME);

/**
 * Bucket names S3 reserves, by prefix and suffix
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
 * Artifact bucket names start with the prefix and end with the region, so
 * it is the prefixes that the org's `prefix` can hit; the suffixes are
 * checked on the whole name all the same.
 */
const RESERVED_BUCKET_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const RESERVED_BUCKET_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

export function reservedBucketName(bucket: string): string | undefined {
  const prefix = RESERVED_BUCKET_PREFIXES.find((p) => bucket.startsWith(p));
  if (prefix) return `S3 bucket name '${bucket}' starts with '${prefix}', which S3 reserves`;
  const suffix = RESERVED_BUCKET_SUFFIXES.find((p) => bucket.endsWith(p));
  return suffix ? `S3 bucket name '${bucket}' ends with '${suffix}', which S3 reserves` : undefined;
}

function cidrProblem(cidr: string): string | undefined {
  const [address, bits] = cidr.split('/');
  const octets = address.split('.').map(Number);
  if (octets.some((o) => o > 255)) return 'has an octet over 255';
  const value = octets.reduce((n, o) => n * 256 + o, 0);
  return value % 2 ** (32 - Number(bits)) === 0 ? undefined : `has host bits set for a /${bits}`;
}

/**
 * A value xstack writes into a template as text that names a pseudo parameter, `${AWS::Region}`: CloudFormation keeps
 * it as it is outside Fn::Sub (never substituted), and cfn-lint, the templates' validator, refuses a reference it
 * knows written there (E1029, rules/functions/SubNeeded.py: a pseudo parameter, or a parameter or resource of the
 * template, which checks/text-references.ts checks once the templates are made; review s39-fuzz 3). `${JAVA_HOME}`
 * or `${version}` is text to both.
 */
export function cfnReferenceProblem(value: string): string | undefined {
  const reference = /\$\{\s*AWS::[A-Za-z]+\s*\}/.exec(value)?.[0];
  return reference && `holds '${reference}', a CloudFormation pseudo parameter: xstack writes the text as it is (never substituted), and cfn-lint refuses it outside Fn::Sub (E1029)`;
}

/**
 * A text's length as AWS's APIs count it: their models' length constraints (CodeCommit's branchName "Maximum length
 * of 256", https://docs.aws.amazon.com/codecommit/latest/APIReference/API_BranchInfo.html) are Smithy's length trait,
 * which for a string counts "Unicode scalar values"
 * (https://github.com/smithy-lang/smithy/blob/main/docs/source-2.0/spec/constraint-traits.rst, length trait), not
 * JavaScript's UTF-16 units, in which a character past U+FFFF counts twice (review s39-fuzz 7). JSON Schema's maxLength,
 * which editors apply, counts the same.
 */
export function characterCount(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is one character.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
    n++;
  }
  return n;
}

/** git check-ref-format, as CodeCommit applies it to branch names. */
export function branchNameProblem(name: string): string | undefined {
  if (name.length === 0 || characterCount(name) > 256) return 'must be 1 to 256 characters';
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return 'contains a space, a control character or one of ~ ^ : ? * [ \\';
  if (name.includes('..')) return "contains '..'";
  if (name.includes('@{')) return "contains '@{'";
  if (name === '@') return "'@' alone is not a branch name";
  // `git check-ref-format --branch HEAD` refuses it ("'HEAD' is not a valid branch name"): HEAD names the checkout.
  if (name === 'HEAD') return "'HEAD' is not a branch name (git refuses it: it names the checked-out commit)";
  // Branches are named short in both places xstack writes them: the source action's BranchName ("The name of the
  // branch", https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodeCommit.html) and the trigger
  // rules' referenceName, which CodeCommit's events give short ("referenceName": "main", beside "referenceFullName":
  // "refs/heads/main": https://docs.aws.amazon.com/codecommit/latest/userguide/monitoring-events.html). A pipeline on
  // `refs/heads/main` would never start (review s46-cli m6).
  if (name.startsWith('refs/')) {
    const short = name.startsWith('refs/heads/') ? name.slice('refs/heads/'.length) : undefined;
    const hint = short && !short.startsWith('refs/') && branchNameProblem(short) === undefined ? `'${short}'` : "'main', not 'refs/heads/main'";
    return `starts with 'refs/': write the branch's short name (${hint}), as CodePipeline's source action and CodeCommit's events name it`;
  }
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) return 'has an empty path component';
  if (name.startsWith('-')) return "starts with '-'";
  if (name.endsWith('.')) return "ends with '.'";
  if (name.split('/').some((c) => c.startsWith('.') || c.endsWith('.lock'))) return "has a component starting with '.' or ending in '.lock'";
  // CodeCommit's quotas: "except that a branch name cannot be a string of exactly 40 hexadecimal characters" (a
  // commit id). https://docs.aws.amazon.com/codecommit/latest/userguide/limits.html
  if (/^[0-9a-fA-F]{40}$/.test(name)) return 'is 40 hexadecimal digits, which CodeCommit does not accept as a branch name (it reads as a commit id)';
  // The branch is the source action's BranchName, where CodePipeline reads "#{namespace.variable_key}" as a variable
  // reference (https://docs.aws.amazon.com/codepipeline/latest/userguide/reference-variables.html; review s38-names).
  if (name.includes('#{')) return "contains '#{', which CodePipeline reads in an action's configuration as the start of a variable (#{namespace.variable})";
  // A pseudo parameter (${AWS::Region}) cannot be in one (':' is refused above); a resource's name is checked once the
  // templates are made (checks/text-references.ts).
  return undefined;
}

const branchName = str({ expected: 'a git branch name (git check-ref-format)', refine: branchNameProblem });

/**
 * The deployment groups xstack makes deploy to EC2/On-Premises (ComputePlatform Server), where "You can use one of the
 * three predefined deployment configurations provided by AWS or create a custom deployment configuration"
 * (https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html): AWS's Lambda and ECS
 * configurations (CodeDeployDefault.LambdaAllAtOnce, CodeDeployDefault.ECSAllAtOnce, …) are another platform's
 * (review s22-names N5). A custom configuration's name is the org's.
 */
const SERVER_DEPLOYMENT_CONFIGS = ['CodeDeployDefault.OneAtATime', 'CodeDeployDefault.HalfAtATime', 'CodeDeployDefault.AllAtOnce'];
/**
 * An instance tag a deployment group selects by: not one of AWS's own, which no one can put on an instance ("Do not use
 * the aws: prefix in tag names and values because it is reserved for AWS use. In addition, you cannot edit or delete
 * tag names or values with this prefix", the EC2 restrictions as EMR's page gives them,
 * https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-plan-tags-restrictions.html, linking
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Tags.html#tag-restrictions), so a group selecting by one
 * would find no instance (review s59-cli m6).
 */
const instanceTagKeyProblem = (key: string): string | undefined => (/^aws:/i.test(key) ? `'${key}' starts with 'aws:', which AWS keeps for its own tags: no instance can be tagged so, and the deployment group would find none` : undefined);

function serverDeploymentConfigProblem(name: string): string | undefined {
  if (!name.startsWith('CodeDeployDefault.') || SERVER_DEPLOYMENT_CONFIGS.includes(name)) return undefined;
  return "is not one of AWS's configurations for EC2/On-Premises, which xstack's deployment groups deploy to";
}

/**
 * A protected branch goes into the developer role's policy (codecommit:References), and "Policy documents can contain
 * only the following Unicode characters: horizontal tab (U+0009), linefeed (U+000A), carriage return (U+000D), and
 * characters in the range U+0020 to U+00FF" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html):
 * a branch past U+00FF would fail the access roles in every source account (review s22-names N2).
 */
function protectedBranchProblem(name: string): string | undefined {
  const pastLatin1 = [...name].find((c) => c.codePointAt(0)! > 0xff);
  if (pastLatin1 !== undefined) return `holds '${pastLatin1}', past U+00FF: IAM takes no such character in a policy, and the developer role's policy names each protected branch`;
  // IAM reads `${…}` in a condition value as a policy variable ("If AWS cannot resolve a variable this might cause the
  // entire statement to be invalid": https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html),
  // so the Deny protecting such a branch would not protect it (review s22-diff D3).
  if (name.includes('${')) return "holds '${', which IAM reads as the start of a policy variable in the developer role's Deny on protected branches: leave it out of the branch name";
  // The Deny compares each name exactly (StringEquals on codecommit:References): a pattern would protect nothing.
  if (/[*?]/.test(name)) return `holds '${name.match(/[*?]/)![0]}': protected branches are exact branch names (the developer role's Deny compares each exactly), not patterns; list each branch`;
  return branchNameProblem(name);
}
const protectedBranchName = str({ expected: 'a git branch name (git check-ref-format) of characters IAM takes in a policy (up to U+00FF)', refine: protectedBranchProblem });

/**
 * An AZ ID (use1-az1) names the same physical zone in every account; an AZ name
 * (us-east-1a) may not: https://docs.aws.amazon.com/global-infrastructure/latest/regions/az-ids.html
 * Which Region's IDs, and how many, is checked across fields (checkAvailabilityZoneIds).
 */
const AZ_ID_EXPECTED = 'an AZ ID such as use1-az1 (the ZoneId that aws ec2 describe-availability-zones lists)';
const availabilityZoneId = str({
  expected: AZ_ID_EXPECTED,
  pattern: /^[a-z]+\d+-az\d+$/,
  refine: (v) => (/^[a-z]{2}(-[a-z]+)+-\d+[a-z]$/.test(v) ? `'${v}' is an AZ name, which can stand for a different zone in each account` : undefined),
});

const roleName = str({ expected: 'an IAM role name: up to 64 of letters, digits and +=,.@_-', pattern: /^[\w+=,.@-]{1,64}$/ });
/** Roles that exist already, by what follows role/ in their ARN: `name` or `path/name` (src/iam/role-path.ts). */
const existingRole = str({ expected: EXISTING_ROLE_EXPECTED, pattern: EXISTING_ROLE_PATTERN, refine: (v) => existingRoleProblem(v, false) });
/** Matched by ArnLike in the key policy, so `*` and `?` are wildcards there. */
const keyAdministratorRole = str({ expected: KEY_ADMINISTRATOR_EXPECTED, pattern: KEY_ADMINISTRATOR_PATTERN, refine: (v) => existingRoleProblem(v, true) });

/**
 * Where an account sits in its organization: an OU, or the root itself for an account directly under it. The pattern
 * is CloudFormation's for a StackSet target ("The organization root ID or organizational unit (OU) IDs where the
 * StackSet is targeted", Pattern ^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$,
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetAutoDeploymentTargetSummary.html).
 */
const ORGANIZATIONAL_UNIT_ID = /^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$/;
const ORGANIZATIONAL_UNIT: StringRule = {
  expected: 'an OU id like ou-ab12-cd34ef56, or the organization root id like r-ab12',
  pattern: ORGANIZATIONAL_UNIT_ID,
  refine: (v) =>
    ORGANIZATIONAL_UNIT_ID.test(v)
      ? undefined
      : /[A-Z]/.test(v)
      ? `'${v}' has upper-case letters; Organizations ids are lower-case`
      : v.startsWith('ou-')
        ? `'${v}' is not an OU id: ou-, 4 to 32 letters or digits (its root's), -, then 8 to 32 letters or digits`
        : v.startsWith('r-')
          ? `'${v}' is not a root id: r-, then 4 to 32 letters or digits`
          : `'${v}' is neither an OU id (ou-…) nor a root id (r-…)`,
};

const accountSchema = obj(
  {
    id: required(
      str({
        expected: 'a 12-digit AWS account id in quotes, e.g. "123456789012"',
        pattern: /^\d{12}$/,
        refine: (v) =>
          !/^\d{12}$/.test(v)
            ? `'${v}' is not 12 digits`
            : v === OTHER_ACCOUNT
              ? `'${v}' is the id xstack's access proof gives an account outside the organization, so the refusals it asks from outside would be asked of this account; if this really is the account's id, report it: xstack must take another`
              : undefined,
      }),
    ),
    role: required(
      str({ expected: "'source' (hosts repositories), 'pipeline' (runs an environment) or 'tools' (runs CI, holds identities)", oneOf: ['source', 'pipeline', 'tools'] }),
    ),
    environment: optional(str({ expected: NAME_EXPECTED, pattern: NAME })),
    organizationalUnit: optional(str(ORGANIZATIONAL_UNIT)),
  },
  'an account: id, role and, for pipeline accounts, environment',
);

const repositorySchema = obj(
  {
    account: required(str({ expected: 'the name of a source account', pattern: NAME })),
    description: optional(str({ expected: 'up to 1,000 characters', refine: (v) => (characterCount(v) > 1000 ? 'is over 1,000 characters' : cfnReferenceProblem(v)) })),
    // The name it was first deployed under: kept for as long as it exists (README "Renaming a repository").
    renamedFrom: optional(str({ ...REPOSITORY_NAME, expected: `the name the repository was first deployed under (${REPOSITORY_NAME.expected})` })),
  },
  'a repository: account, optional description, and renamedFrom once renamed',
);

const pipelineSchema = obj(
  {
    repository: required(repositoryName),
    branches: required(mapOf(branchName, { keyExpected: `an environment name (${NAME_EXPECTED})`, keyPattern: NAME, min: 1, valueExpected: 'the branch its pipeline account deploys' })),
    deploy: required(
      obj(
        {
          type: required(str({ expected: "'codedeploy'", oneOf: ['codedeploy'] })),
          deploymentConfig: optional(str({ expected: `${SERVER_DEPLOYMENT_CONFIGS.join(', ')}, or the name of a custom configuration for EC2/On-Premises (1 to 100 letters, digits and . _ + = , @ -)`, pattern: /^[\w.+=,@-]{1,100}$/, refine: serverDeploymentConfigProblem })),
          ec2TagKey: optional(str({ expected: "an EC2 tag key of up to 128 characters, not starting with 'aws:'", pattern: /^[\w .:/=+@-]{1,128}$/, refine: instanceTagKeyProblem })),
          applicationTagKey: optional(str({ expected: "an EC2 tag key of up to 128 characters, not starting with 'aws:'", pattern: /^[\w .:/=+@-]{1,128}$/, refine: instanceTagKeyProblem })),
        },
        'a deploy stage: type and its settings',
      ),
    ),
  },
  'a pipeline: repository, branches per environment and deploy stage',
);

const operationPreferencesSchema = obj(
  {
    maxConcurrentCount: optional(int({ min: 1, max: 10000 })),
    maxConcurrentPercentage: optional(int({ min: 1, max: 100 })),
    failureToleranceCount: optional(int({ min: 0, max: 10000 })),
    failureTolerancePercentage: optional(int({ min: 0, max: 100 })),
    regionConcurrencyType: optional(str({ expected: 'SEQUENTIAL or PARALLEL', oneOf: ['SEQUENTIAL', 'PARALLEL'] })),
    concurrencyMode: optional(
      str({ expected: 'STRICT_FAILURE_TOLERANCE or SOFT_FAILURE_TOLERANCE', oneOf: ['STRICT_FAILURE_TOLERANCE', 'SOFT_FAILURE_TOLERANCE'] }),
    ),
  },
  'StackSet operation preferences',
);

/** A role source as the model holds it, its defaults filled in. */
const roleSourceOf = (s: { account: string; roleNames: string[]; sso?: boolean; federated?: boolean; transitiveTagKeys?: string[] }) => ({
  account: s.account,
  roleNames: s.roleNames,
  sso: s.sso ?? false,
  federated: s.federated ?? false,
  transitiveTagKeys: [...new Set(s.transitiveTagKeys ?? [])].sort(),
});

/** Roles of an account of the org that may assume a role xstack makes (the developer role, the maintainer role). */
function roleSources(assumed: string) {
  return list(
    obj(
      {
        account: required(str({ expected: 'the name of an account of the org', pattern: NAME })),
        roleNames: required(
          list(
            str({
              expected: 'an IAM role name or pattern (* and ? allowed)',
              pattern: /^[\w+=,.@*?-]{1,64}$/,
              refine: (v) => (/^[*?]+$/.test(v) ? `'${v}' matches every role of the account: each could assume the ${assumed} role; name the roles, or a pattern with a literal part such as AWSReservedSSO_${assumed === 'maintainer' ? 'Maintainer' : 'Developer'}_*` : undefined),
            }),
            { min: 1 },
          ),
        ),
        sso: optional(bool()),
        federated: optional(bool()),
        // Session tag keys: "can be 1-128 characters", letters, numbers, spaces and _.:/=+-@, and no session tag may
        // begin with aws: (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_know);
        // "you can pass a maximum of 50 session tags".
        transitiveTagKeys: optional(
          list(
            str({
              expected: 'a session tag key: 1 to 128 ASCII letters, digits, spaces and _ . : / = + - @, not beginning with aws:',
              pattern: /^[A-Za-z0-9 _.:/=+\-@]{1,128}$/,
              refine: (v) => (/^aws:/i.test(v) ? `'${v}' begins with aws:, which no session tag may` : undefined),
            }),
            { min: 1, max: 50 },
          ),
        ),
      },
      'a role source: account, roleNames and optional sso, federated or transitiveTagKeys',
    ),
    { min: 1 },
  );
}

const accessSchema = obj(
  {
    developers: optional(
      obj(
        {
          assumedBy: required(roleSources('developer')),
          // Refused in validateAccess, with the reason: role chaining.
          requireMfa: optional(acceptsOnly(bool(), { const: false, description: "false: developers assume the developer role from another role's session (role chaining), which carries no aws:MultiFactorAuthPresent, so true is refused" })),
          maxSessionHours: optional(acceptsOnly(int({ min: 1, max: 12, expected: 'maxSessionHours: 1, or leave it out (role chaining, by which developers assume the developer role, limits a session to one hour)' }), { maximum: 1, description: '1: role chaining, by which developers assume the developer role, limits a session to one hour, so more is refused' })),
          protectedBranches: optional(list(protectedBranchName)),
          maintainers: optional(roleSources('maintainer')),
          // The console's repository list, on "*": every repository name of the source account (git needs none of it).
          listRepositories: optional(bool()),
        },
        'developer access: assumedBy, and optional requireMfa, maxSessionHours, protectedBranches, maintainers, listRepositories',
      ),
    ),
    ci: optional(
      obj(
        {
          account: required(str({ expected: 'the name of the account CI runs in', pattern: NAME })),
          network: optional(
            obj(
              {
                cidr: required(
                  str({
                    expected: 'an IPv4 CIDR block from /16 to /24, e.g. 10.20.0.0/16',
                    pattern: /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(1[6-9]|2[0-4])$/,
                    refine: cidrProblem,
                  }),
                ),
                availabilityZones: optional(int({ min: 1, max: 3 })),
                nat: optional(bool()),
                availabilityZoneIds: optional(list(availabilityZoneId)),
              },
              'a CI network: cidr, and optional availabilityZones, nat (default true; false: isolated, endpoints only) and availabilityZoneIds',
            ),
          ),
          // The CI on EKS instead of EC2: https://docs.aws.amazon.com/eks/latest/userguide/pod-identities.html,
          // https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts.html
          eks: optional(
            obj(
              {
                mode: required(str({ expected: 'pod-identity or irsa', oneOf: ['pod-identity', 'irsa'] })),
                cluster: optional(str({ expected: 'an EKS cluster name', pattern: /^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/ })),
                oidcIssuer: optional(
                  str({ expected: "the cluster's OIDC issuer without https://, e.g. oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE", pattern: /^oidc\.eks\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\/id\/[A-Z0-9]+$/ }),
                ),
                namespace: required(str({ expected: 'a Kubernetes namespace', pattern: /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/ })),
                serviceAccount: required(str({ expected: 'a Kubernetes service account name', pattern: /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/ })),
              },
              'the CI on EKS: mode (pod-identity with cluster, or irsa with oidcIssuer), namespace and serviceAccount',
            ),
          ),
        },
        'CI access: account, and optional network and eks',
      ),
    ),
  },
  'access: developers and/or ci',
);

/** A partition's name, aws-cn among them: refused later with its own reason (no CodePipeline), not as unknown. */
const PARTITION_NAME = new RegExp(`^(${PARTITIONS.join('|')})$`);
/** An unknown partition, with the nearest an org may have (never aws-cn, refused whatever else is right; review s38-lead-diff m3). */
function unknownPartition(value: string): string | undefined {
  if (PARTITION_NAME.test(value)) return undefined;
  const near = closest(value, ORG_PARTITIONS);
  return `'${value}' is not accepted${near ? ` (did you mean '${near}'?)` : ''}`;
}

export const orgSchema = partialObj(
  {
    organization: required(
      obj(
        {
          id: optional(str({ expected: "an AWS Organizations id like o-a1b2c3d4e5 ('o-' and 10 to 32 lowercase letters and digits)", pattern: /^o-[a-z0-9]{10,32}$/ })),
          // aws-cn and Regions without CodeCommit are refused in buildOrg, with the reason; which Region goes with which partition too.
          partition: required(acceptsOnly(str({ expected: ORG_PARTITIONS.join(' or '), pattern: PARTITION_NAME, refine: unknownPartition }), { enum: ORG_PARTITIONS, pattern: undefined, description: `${ORG_PARTITIONS.join(' or ')} (not aws-cn: ${NO_CODEPIPELINE})` })),
          region: required(
            acceptsOnly(str({ expected: 'an AWS region name in lowercase such as us-east-1', pattern: /^[a-z]{2}(-[a-z]+)+-\d$/ }), {
              enum: ORG_PARTITIONS.flatMap((p) => PARTITION_REGIONS[p].filter((r) => CODECOMMIT_REGIONS.has(r))),
              description: "a Region of the partition with CodeCommit, which holds the org's repositories (https://docs.aws.amazon.com/codecommit/latest/userguide/regions.html)",
            }),
          ),
        },
        'organization: id (optional), partition and region',
      ),
    ),
    prefix: required(str({ expected: 'lowercase letters, digits and hyphens, starting with a letter and ending in a letter or digit, at least 2 characters', pattern: /^[a-z][a-z0-9-]*[a-z0-9]$/ })),
    accounts: required(mapOf(accountSchema, { keyExpected: `an account name (${NAME_EXPECTED})`, keyPattern: NAME, min: 2 })),
    repositories: required(mapOf(repositorySchema, { keyExpected: REPOSITORY_NAME.expected, keyPattern: REPOSITORY_NAME.pattern, keyRefine: REPOSITORY_NAME.refine, min: 1 })),
    pipelines: required(mapOf(pipelineSchema, { keyExpected: 'a pipeline name: letters, digits and hyphens', keyPattern: /^[A-Za-z0-9][A-Za-z0-9-]*$/, min: 1 })),
    stackSets: optional(
      obj(
        {
          permissionModel: optional(str({ expected: 'SELF_MANAGED or SERVICE_MANAGED', oneOf: ['SELF_MANAGED', 'SERVICE_MANAGED'] })),
          administrationRoleName: optional(roleName),
          executionRoleName: optional(roleName),
          callAs: optional(str({ expected: 'SELF or DELEGATED_ADMIN', oneOf: ['SELF', 'DELEGATED_ADMIN'] })),
          operationPreferences: optional(operationPreferencesSchema),
        },
        'StackSet settings',
      ),
    ),
    keyAdministratorRoles: optional(list(keyAdministratorRole)),
    deploymentTargets: optional(
      obj({ cloudWatchAgent: optional(bool()), instanceRoles: optional(list(existingRole)) }, 'deployment targets: optional cloudWatchAgent, or instanceRoles (existing roles to grant)'),
    ),
    // Quotas AWS raised on request: from AWS's default up, with no maximum of xstack's (src/limits.ts ADJUSTABLE_IAM_QUOTAS).
    iamQuotas: optional(
      obj(
        {
          rolesPerAccount: optional(int({ min: ADJUSTABLE_IAM_QUOTAS.rolesPerAccount.default })),
          instanceProfilesPerAccount: optional(int({ min: ADJUSTABLE_IAM_QUOTAS.instanceProfilesPerAccount.default })),
          customerManagedPoliciesPerAccount: optional(int({ min: ADJUSTABLE_IAM_QUOTAS.customerManagedPoliciesPerAccount.default })),
          managedPoliciesPerRole: optional(int({ min: ADJUSTABLE_IAM_QUOTAS.managedPoliciesPerRole.default })),
          roleTrustPolicyChars: optional(int({ min: ADJUSTABLE_IAM_QUOTAS.roleTrustPolicyChars.default })),
        },
        'IAM quotas raised for these accounts',
      ),
    ),
    // StackSets quotas AWS raised on request; the minimum is AWS's default.
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
    stackSetQuotas: optional(
      obj(
        {
          stackSetsPerAdministrator: optional(int({ min: 1000, max: 100000 })),
          stackInstancesPerStackSet: optional(int({ min: 100000, max: 10000000 })),
        },
        'StackSets quotas raised for the administrator account',
      ),
    ),
    // EventBridge quotas AWS raised on request. The least is the lowest Region's default (the org's Region's is checked
    // with the others' fields); the page names no maximum, so the most only refuses a mistyped number.
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
    // busPolicyChars: the event bus policy size, 10,240 characters by default (the least it can be raised to).
    eventBridgeQuotas: optional(
      obj({
        rulesPerBus: optional(
          acceptsOnly(int({ min: 100, max: 100000, expected: `a whole number from the org's Region's default up to 100000 (${DEFAULT_RULES_PER_BUS_NOTE})` }), {
            description: `a whole number from the org's Region's default to 100000: ${DEFAULT_RULES_PER_BUS_NOTE} (checked by xstack compile, not by this schema)`,
          }),
        ),
        busPolicyChars: optional(int({ min: 10240, max: 1000000 })) }, 'EventBridge quotas raised for these accounts in the Region'),
    ),
    // A deploy after a destroy meets the retained buckets under their names: a new generation renames them (src/naming.ts).
    bucketGeneration: optional(int({ min: 1, max: 999 })),
    // How long a pipeline execution's artifacts stay (the artifact bucket's lifecycle): a rollback or redeploy reaches
    // no further back. At least 30 days, as an execution can wait at a manual approval for 7; the most only refuses a typo.
    artifactRetentionDays: optional(int({ min: 30, max: 36500 })),
    // Every role the templates create gets it (src/iam/permissions-boundary.ts): for an Organization whose SCP refuses
    // iam:CreateRole without its boundary.
    permissionsBoundary: optional(str({ expected: BOUNDARY_EXPECTED, pattern: BOUNDARY_PATTERN, refine: boundaryProblem })),
    // On every StackSet, and so on its stacks and the resources that take tags (src/aws/tags.ts).
    tags: optional(mapOf(str({ expected: ORG_TAG_VALUE_EXPECTED, pattern: ORG_TAG_VALUE }), { keyExpected: ORG_TAG_KEY_EXPECTED, keyPattern: ORG_TAG_KEY, keyRefine: orgTagKeyProblem, valueExpected: "the tag's value" })),
    access: optional(accessSchema),
  },
  'an organization file: organization, prefix, accounts, repositories, pipelines',
);

/** The org file's valid parts: a field that failed its own checks is absent, and was reported. */
type Raw = NonNullable<ReturnType<typeof orgSchema>>['value'];

const isFolder = (path: string) => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

/** The org's name, the file's without its extension: it names the org's output folder (dist/<name>/) and its layout file. */
const orgNameOf = (file: string) => basename(file, extname(file));

/**
 * Bytes of an org's name at most: the names xstack makes from it (`.<name>.xstack-lock.takeover`,
 * `<name>.layout.json.xstack-tmp-<id>`) stay within the 255 bytes a file name may have (review s38-cli M10).
 */
const MAX_ORG_NAME_BYTES = 200;

/** Why `name` cannot name an org's output folder, or undefined. */
function orgNameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (name === '.' || name === '..') return 'is no folder name';
  if (name.startsWith('.')) return 'would be a hidden folder';
  // The folders a run sets aside beside dist/<name>/ are <name>.xstack-tmp-<id> and <name>.xstack-old-<id> (review s38-cli M1).
  if (name.includes('.xstack-')) return "holds '.xstack-', which xstack keeps for the folders it sets aside beside the output (<name>.xstack-old-<id>)";
  // The output folder's marker and the Jenkinsfile's comments are written line by line (review s50-input m9).
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'holds a control character (a line break, a tab), which the files written line by line from it (the output folder\'s marker, the Jenkinsfile\'s comments) cannot hold';
  const bytes = Buffer.byteLength(name);
  if (bytes > MAX_ORG_NAME_BYTES) return `is ${bytes} bytes long, and the names xstack makes from it must fit a file system's 255 bytes: at most ${MAX_ORG_NAME_BYTES}`;
  return undefined;
}

export function loadOrgFile(file: string): Org {
  if (file === '-') throw new XstackError('ORG_FILE_UNREADABLE', "'-' (standard input) is not read: an organization file is read by its path, beside which its layout file is kept and whose name names its output folder; give the path of an org file such as parameters/example.yaml");
  const name = orgNameOf(file);
  const nameProblem = orgNameProblem(name);
  // A folder ('.', '..') is said as one, as any folder given is below, not as a file to rename (review s30-cli m11).
  if (nameProblem && !isFolder(file)) {
    // A name holding a line break is shown quoted, so that the message stays one line.
    const shown = (text: string) => (/[\u0000-\u001f\u007f]/.test(text) ? JSON.stringify(text) : `'${text}'`);
    throw new XstackError('ORG_FILE_NAME', `${shown(file).replace(/^'|'$/g, '')}: an org file's name without its extension names its output folder (dist/<name>/), and ${shown(name)} ${nameProblem}; rename the file, e.g. to org.yaml`);
  }
  // Only files of these extensions are held apart from another file of their name (sameNameProblem): ex.txt beside
  // ex.yml would compile to one folder and share ex.layout.json unseen (review s46-cli m5).
  if (!isFolder(file) && !ORG_FILE_EXTENSIONS.includes(extname(file).toLowerCase())) {
    throw new XstackError('ORG_FILE_NAME', `${file}: an org file is named <name>.yaml, <name>.yml or <name>.json, whose <name> names its output folder (dist/<name>/) and its layout file (<name>.layout.json); rename it to ${name.replace(/\.(ya?ml|json)$/i, '')}.yaml`);
  }
  let bytes: Buffer;
  try {
    const stat = statSync(file);
    // A FIFO or a device would block the read, or never end (review s50-input N7): an org file is a file.
    if (!stat.isFile() && !stat.isDirectory()) {
      throw new XstackError('ORG_FILE_UNREADABLE', `cannot read the organization file ${file}: it is not a regular file (a pipe, a socket or a device); give the path of an org file such as parameters/example.yaml`);
    }
    const { size } = stat;
    if (size > MAX_ORG_FILE_BYTES) throw tooLarge(file, size);
    bytes = readFileSync(file);
  } catch (error) {
    if (error instanceof XstackError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'there is no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new XstackError('ORG_FILE_UNREADABLE', `cannot read the organization file ${file}: ${why}; give the path of an org file such as parameters/example.yaml`);
  }
  const text = decodeOrgFile(bytes, file);
  refuseOwnFiles(file, text);
  const org = parseOrg(text, file);
  const layout = readLayout(file);
  if (!layout) return org;
  // A deployed org is not renamed or moved: the layout file records where the compile before put it.
  const moved = layout.org ? movedOrgProblems(org, layout.org, text) : [];
  if (moved.length > 0) throw new OrgFileError(moved);
  return { ...org, layout: layout.families, ...(layout.org ? { layoutRecord: layout.org } : {}) };
}

/** The JSON Schema's title (json-schema.ts writes it; that module imports this one). */
export const SCHEMA_TITLE = 'xstack organization file';

/**
 * A file xstack writes beside the org file, given in its place (a tab completion's slip, review s50-input m11): its
 * layout file (`<name>.layout.json`, format xstack-layout/1) or the schema (`xstack schema`'s JSON Schema) is said
 * to be what it is, not read as an org file with a dozen problems.
 */
function refuseOwnFiles(file: string, text: string): void {
  if (!file.toLowerCase().endsWith('.json')) return;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const { format, title } = value as { format?: unknown; title?: unknown };
  if (format === LAYOUT_FORMAT) {
    const org = basename(file).replace(/\.layout\.json$/i, '');
    throw new XstackError('ORG_FILE_IS_LAYOUT', `${file} is a layout file (${LAYOUT_FORMAT}: where each unit of an org's families is placed, written by compile beside the org file), not an organization file; give the org file beside it${org !== basename(file) ? `, such as ${join(dirname(file), `${org}.yaml`)}` : ''}`);
  }
  if (title === SCHEMA_TITLE) throw new XstackError('ORG_FILE_IS_SCHEMA', `${file} is the JSON Schema of organization files (written by 'xstack schema'), not an organization file; give an org file such as parameters/example.yaml`);
}

/**
 * Far above any org file (a 1,000-account org is about 120 KB), and far below the longest string V8 holds
 * (0x1fffffe8 characters), past which decoding fails for its length: a file this size was given by mistake.
 */
export const MAX_ORG_FILE_BYTES = 16 * 2 ** 20;

const tooLarge = (file: string, size: number) =>
  new XstackError(
    'ORG_FILE_TOO_LARGE',
    `${file} is ${(size / 2 ** 20).toFixed(1)} MiB (${size} bytes); an organization file is a short YAML text, at most ${MAX_ORG_FILE_BYTES / 2 ** 20} MiB: is this the right file?`,
  );

/**
 * The file's text, which must be UTF-8 (YAML 1.2 files are Unicode; UTF-8
 * is what every editor writes by default). An invalid byte is an error naming
 * its line and byte offset, never a silent U+FFFD that would reach a template.
 */
export function decodeOrgFile(bytes: Uint8Array, file: string): string {
  const bom = (a: number, b: number) => bytes[0] === a && bytes[1] === b;
  if (bom(0xff, 0xfe) || bom(0xfe, 0xff)) throw new OrgFileError([{ file, line: 1, column: 1, field: '(encoding)', message: 'the file is UTF-16', expected: 'UTF-8 (save the file as UTF-8)' }]);
  if (bytes.length > MAX_ORG_FILE_BYTES) throw tooLarge(file, bytes.length);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    const offset = firstInvalidUtf8(bytes);
    // Valid UTF-8 that still did not decode (a text longer than V8's longest string): not the file's encoding.
    if (offset === undefined) throw new XstackError('ORG_FILE_UNREADABLE', `cannot read the organization file ${file} as text: ${(error as Error).message}`, { cause: error });
    const line = bytes.subarray(0, offset).reduce((n, b) => n + (b === 0x0a ? 1 : 0), 1);
    // The column in characters, as an editor counts them: the line's bytes before it are valid UTF-8 (review s46-cli N2).
    const lineStart = bytes.lastIndexOf(0x0a, offset - 1) + 1;
    const column = [...new TextDecoder('utf-8').decode(bytes.subarray(lineStart, offset))].length + 1;
    const hex = bytes[offset].toString(16).toUpperCase().padStart(2, '0');
    throw new OrgFileError([
      { file, line, column, field: '(encoding)', message: `byte 0x${hex} at byte offset ${offset} is not valid UTF-8 (is the file Latin-1 or Windows-1252?)`, expected: 'UTF-8 text (save the file as UTF-8)' },
    ]);
  }
  // A carriage return alone ends a line for YAML 1.2 (https://yaml.org/spec/1.2.2/#54-line-break-characters) and js-yaml, not for the positioned reader, which read such a
  // file as one comment line: "is nothing" (review s50-input m5). Said where the first one is.
  const loneCr = /\r(?!\n)/.exec(text);
  if (loneCr) {
    const before = text.slice(0, loneCr.index);
    const line = before.split(/\r\n|\n|\r/).length;
    const column = [...before.slice(Math.max(before.lastIndexOf('\n'), before.lastIndexOf('\r')) + 1)].length + 1;
    throw new OrgFileError([
      { file, line, column, field: '(line ends)', message: 'the line ends in a carriage return alone (classic Mac OS line ends), which xstack does not read as a line break', expected: 'lines that end in LF or CRLF (save the file with Unix or Windows line ends)' },
    ]);
  }
  return text;
}

/** Offset of the first byte that does not start or continue a well-formed UTF-8 sequence (RFC 3629 §4), if any. */
function firstInvalidUtf8(bytes: Uint8Array): number | undefined {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    const [length, min, max] = b < 0x80 ? [1, 0, 0] : b >= 0xc2 && b <= 0xdf ? [2, 0x80, 0xbf] : b === 0xe0 ? [3, 0xa0, 0xbf] : b === 0xed ? [3, 0x80, 0x9f] : b >= 0xe1 && b <= 0xef ? [3, 0x80, 0xbf] : b === 0xf0 ? [4, 0x90, 0xbf] : b === 0xf4 ? [4, 0x80, 0x8f] : b >= 0xf1 && b <= 0xf3 ? [4, 0x80, 0xbf] : [0, 0, 0];
    if (length === 0) return i;
    for (let k = 1; k < length; k++) {
      const c = bytes[i + k];
      const [lo, hi] = k === 1 ? [min, max] : [0x80, 0xbf];
      if (c === undefined || c < lo || c > hi) return i;
    }
    i += length;
  }
  return undefined;
}

/**
 * A file the quick reader reads and finds nothing wrong with is accepted as
 * it read it; anything else is read again with positions, and it is that
 * reading's problems, with their lines, that are reported.
 */
export function parseOrg(text: string, file: string): Org {
  const quick = readQuick(text);
  if (quick) {
    const ctx = new Context(file);
    const org = validate(quick.root, file, ctx);
    if (org) return org;
  }
  // A merge that stopped on a conflict: the markers read as YAML would be keys without a colon, a hint that misleads.
  const conflict = CONFLICT_MARKERS.exec(text);
  if (conflict) {
    const line = text.slice(0, conflict.index).split('\n').length;
    throw new OrgFileError([{ file, line, field: '(file)', message: 'holds an unresolved merge conflict (git)', expected: 'one side of each conflict kept and the <<<<<<<, ======= and >>>>>>> lines removed' }]);
  }
  const positioned = readPositioned(text);
  const ctx = new Context(file, positioned.lines);
  for (const error of positioned.errors) {
    const { line, col } = positioned.lines.linePos(error.offset);
    ctx.problems.push({ file, line, column: col, field: '(yaml)', message: error.message, expected: error.expected });
  }
  const org = positioned.errors.length === 0 ? validate(positioned.root, file, ctx) : undefined;
  if (!org) throw new OrgFileError(sortProblems(ctx.problems));
  return org;
}

/** The org, or undefined with every problem recorded in `ctx`. */
function validate(root: SourceNode | undefined, file: string, ctx: Context): Org | undefined {
  const parsed = orgSchema(root, '', ctx);
  // Cross-field rules run over whatever is valid, so one pass reports every problem.
  // Declared names are only consulted when a reference is about to be reported: built on first use.
  let declared: DeclaredNames | undefined;
  const org = parsed && buildOrg(parsed.value, file, ctx, () => (declared ??= declaredNames(root)));
  return ctx.problems.length === 0 && org && parsed.complete ? org : undefined;
}

const sortProblems = (problems: typeof Context.prototype.problems) =>
  [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));

export const DEFAULT_STACKSETS: StackSetSettings = {
  permissionModel: 'SELF_MANAGED',
  administrationRoleName: 'AWSCloudFormationStackSetAdministrationRole',
  executionRoleName: 'AWSCloudFormationStackSetExecutionRole',
  callAs: 'SELF',
  operationPreferences: {},
};

interface DeclaredNames {
  accounts: Set<string>;
  /** Roles of the declared accounts. */
  roles: Set<string>;
  environments: Set<string>;
  repositories: Set<string>;
  /** The accounts some repository names. */
  repositoryAccounts: Set<string>;
  /** The environments some pipeline's branches name. */
  branchEnvironments: Set<string>;
}

/**
 * Names the file declares, valid or not: a reference to an account,
 * environment or repository that failed its own checks is not reported again
 * as a reference to nothing.
 */
function declaredNames(root: SourceNode | undefined): DeclaredNames {
  const entries = (node: SourceNode | undefined) => (node?.kind === 'map' ? node.entries : []);
  const field = (node: SourceNode | undefined, key: string) => entries(node).find((e) => e.key === key)?.value;
  const text = (node: SourceNode | undefined) => (node?.kind === 'scalar' && typeof node.value === 'string' ? [node.value] : []);
  const accounts = entries(field(root, 'accounts'));
  return {
    accounts: new Set(accounts.map((e) => e.key)),
    roles: new Set(accounts.flatMap((e) => text(field(e.value, 'role')))),
    environments: new Set(accounts.flatMap((e) => text(field(e.value, 'environment')))),
    repositories: new Set(entries(field(root, 'repositories')).map((e) => e.key)),
    repositoryAccounts: new Set(entries(field(root, 'repositories')).flatMap((e) => text(field(e.value, 'account')))),
    branchEnvironments: new Set(entries(field(root, 'pipelines')).flatMap((e) => entries(field(e.value, 'branches')).map((b) => b.key))),
  };
}

/** Cross-field rules: references, uniqueness, names the prefix would push past AWS limits. */
function buildOrg(raw: Raw, file: string, ctx: Context, declared: () => DeclaredNames): Org | undefined {
  const partition = raw.organization?.partition as Partition | undefined;
  const region = raw.organization?.region;
  if (partition === 'aws-cn') ctx.report('organization.partition', `aws-cn: ${NO_CODEPIPELINE}`, `partition ${ORG_PARTITIONS.join(' or ')}`);
  // Only a Region with CodeCommit is ever suggested: one without would be refused next (review s30-cli m5).
  const codeCommitRegions = partition && PARTITION_REGIONS[partition] ? PARTITION_REGIONS[partition].filter((r) => CODECOMMIT_REGIONS.has(r)) : [];
  // aws-cn is refused above, with its reason: its Regions are no way past.
  const regionWrong = partition && partition !== 'aws-cn' && region && regionProblem(region, partition);
  if (partition && regionWrong) {
    const home = partitionOfRegion(region);
    const near = home ? undefined : closest(region, codeCommitRegions);
    const other = home && (ORG_PARTITIONS as readonly Partition[]).includes(home) ? `organization.partition: ${home} for this Region, or ` : '';
    ctx.report('organization.region', home ? regionWrong : `${region} is not a known region${near ? ` (did you mean ${near}?)` : ''}`, `${other}a Region of ${partition} with CodeCommit: ${codeCommitRegions.join(', ')}`);
  } else if (partition && partition !== 'aws-cn' && region && !CODECOMMIT_REGIONS.has(region)) {
    ctx.report(
      'organization.region',
      `${region}: CodeCommit, which holds the org's repositories, is not available there (https://docs.aws.amazon.com/codecommit/latest/userguide/regions.html)`,
      `a Region with CodeCommit: ${codeCommitRegions.join(', ')}`,
    );
  }

  const rulesPerBus = raw.eventBridgeQuotas?.rulesPerBus;
  if (region && rulesPerBus !== undefined && rulesPerBus < defaultRulesPerBus(region)) {
    ctx.report(
      'eventBridgeQuotas.rulesPerBus',
      `${rulesPerBus} is below EventBridge's default of ${defaultRulesPerBus(region)} rules per event bus in ${region}`,
      `the quota AWS raised for these accounts, ${defaultRulesPerBus(region)} or more (without rulesPerBus the default applies)`,
    );
  }

  const accounts: Account[] = [];
  const byId = new Map<string, string>();
  // The CloudWatch agent's policy goes on the role xstack makes; existing roles are their owner's to extend.
  if (raw.deploymentTargets?.cloudWatchAgent && raw.deploymentTargets.instanceRoles?.length) {
    ctx.report('deploymentTargets.cloudWatchAgent', 'applies to the instance role xstack creates, and instanceRoles names existing ones instead', "remove cloudWatchAgent, and give your instance roles the agent's permissions yourselves: its log groups and streams, PutMetricData in its namespace, its configuration parameters (src/iam/instance-management.ts cloudWatchAgentStatements lists what xstack's role gets; CloudWatchAgentServerPolicy's logs statement is on every log group of the account)");
  }
  // The managed policy attaches to each by name alone (AWS::IAM::ManagedPolicy Roles), so two paths of one name are one role.
  for (const [first, second] of sameRoleTwice(raw.deploymentTargets?.instanceRoles ?? [])) {
    ctx.report('deploymentTargets.instanceRoles', `'${second}' and '${first}' are one role: IAM role names are unique in an account whatever their path, and not by case`, 'each role once, with the path it has');
  }
  const byEnvironment = new Map<string, string>();
  // The environments the pipelines deploy to that no account names: what a pipeline account without one most likely
  // runs (its own name first), and no follow-on error for each of them while such an account is there (review s30-cli m7).
  const named = new Set((raw.accounts ?? []).flatMap(([, a]) => (a.environment ? [a.environment] : [])));
  const unrun = [...new Set((raw.pipelines ?? []).flatMap(([, p]) => p.branches.map(([environment]) => environment)))].filter((e) => !named.has(e));
  const withoutEnvironment = (raw.accounts ?? []).some(([, a]) => a.role === 'pipeline' && !a.environment);
  for (const [name, a] of raw.accounts ?? []) {
    const path = `accounts.${name}`;
    const previous = byId.get(a.id);
    if (previous) ctx.report(`${path}.id`, `account id ${a.id} is also the id of account '${previous}'`, 'each account id once');
    byId.set(a.id, name);
    if (a.role === 'pipeline') {
      if (!a.environment) {
        const likely = unrun.includes(name) ? name : unrun[0];
        const fresh = ['dev', 'staging', 'prod'].filter((e) => !named.has(e));
        ctx.report(path, "is a pipeline account without an 'environment'", likely ? `environment: ${likely} (the pipelines deploy to ${unrun.join(', ')}, which no account runs)` : `environment: ${fresh.length > 0 ? `${fresh[0]} (or another name no account uses)` : 'a name no other account uses'}`);
        continue;
      }
      const other = byEnvironment.get(a.environment);
      if (other) ctx.report(`${path}.environment`, `environment '${a.environment}' is already run by account '${other}'`, 'one pipeline account per environment');
      byEnvironment.set(a.environment, name);
    } else if (a.environment) {
      ctx.report(`${path}.environment`, 'only pipeline accounts run an environment', "no 'environment' on a source account");
    }
    accounts.push({ name, id: a.id, role: a.role as Account['role'], environment: a.environment, organizationalUnit: a.organizationalUnit });
  }
  const sourceAccounts = accounts.filter((a) => a.role === 'source').map((a) => a.name);
  // Looked up by name for each repository and pipeline (firstNamed: the index the org's lookups use later): a 1,000-account org is not searched through for each.
  const sourceAccountNames = new Set(sourceAccounts);
  // An account whose role is missing is said already, and may be the one missing here: no follow-on (review s30-cli m7).
  const invalidAccount = (raw.accounts ?? []).some(([, a]) => a.role === undefined) || declared().accounts.size > (raw.accounts?.length ?? 0);
  if (raw.accounts && !invalidAccount && sourceAccounts.length === 0 && !declared().roles.has('source')) ctx.report('accounts', 'has no source account', 'at least one account with role: source');
  if (raw.accounts && !invalidAccount && byEnvironment.size === 0 && !declared().roles.has('pipeline')) ctx.report('accounts', 'has no pipeline account', 'at least one account with role: pipeline');

  const repositories: Repository[] = [];
  for (const [name, r] of raw.repositories ?? []) {
    const known = firstNamed(accounts, r.account);
    if (raw.accounts && !sourceAccountNames.has(r.account) && (known || !declared().accounts.has(r.account))) {
      ctx.report(
        `repositories.${name}.account`,
        known ? `'${r.account}' is a ${known.role} account; repositories live in source accounts` : `there is no account '${r.account}'`,
        `one of the source accounts: ${sourceAccounts.join(', ') || '(none defined)'}`,
      );
    }
    repositories.push({ name, account: r.account, description: r.description, ...(r.renamedFrom !== undefined ? { renamedFrom: r.renamedFrom } : {}) });
  }
  reportRenames(repositories, ctx);
  // With developer or CI access, every source account holds a repository: the developer and CI roles made in one that
  // holds none would have nothing to grant (a policy statement with no resource, review s39-fuzz 2). Without access,
  // such an account simply gets no stack, as while its repositories move to another (a deployed move, kept in the
  // file). Named by any repository as written, read or not.
  const accessDeclared = raw.access?.developers !== undefined || raw.access?.ci !== undefined;
  for (const [name, a] of raw.accounts ?? []) {
    if (a.role === 'source' && accessDeclared && raw.repositories && !declared().repositoryAccounts.has(name)) {
      ctx.report(
        `accounts.${name}`,
        'source account holds no repository, and the access section would give it developer and CI roles with nothing to grant: no repository names it as its account',
        `a repository with account: ${name}, or no account ${name} until it holds one`,
      );
    }
  }

  // Repository names differing only in case: git clients on case-insensitive file systems (macOS, Windows) clone both into one folder.
  reportCaseCollisions(repositories.map((r) => r.name), 'repositories', 'their clones would share one folder on macOS and Windows, whose file systems ignore case', ctx);
  // Pipeline names go into IAM role and policy names, which "are not distinguished by case":
  // https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
  reportCaseCollisions((raw.pipelines ?? []).map(([name]) => name), 'pipelines', 'their IAM roles and policies would have one name, as IAM does not tell names apart by case', ctx);
  // Templates name conditions and logical ids after accounts and pipelines, letters and digits only (src/cfn/account-switch.ts).
  reportLogicalIdCollisions((raw.accounts ?? []).map(([name]) => name), 'accounts', 'Account', ctx);
  reportLogicalIdCollisions((raw.pipelines ?? []).map(([name]) => name), 'pipelines', '', ctx);
  // One family template holds every source account's repositories, each under its name's logical id (templates/source-repositories.ts).
  reportLogicalIdCollisions(repositories.map(deployedName), 'repositories', 'Repository', ctx, "the templates' logical ids");

  const names = raw.prefix === undefined ? undefined : new Names(raw.prefix, raw.bucketGeneration ?? 1);
  const declaredPipelines: Pipeline[] = [];
  for (const [name, p] of raw.pipelines ?? []) {
    const path = `pipelines.${name}`;
    if (raw.repositories && !firstNamed(repositories, p.repository) && !declared().repositories.has(p.repository)) {
      ctx.report(`${path}.repository`, `there is no repository '${p.repository}'`, repositories.length > 0 ? `one of: ${repositories.map((r) => r.name).join(', ')}` : 'a repository of the org (none is declared)');
    }
    for (const [environment] of p.branches) {
      if (raw.accounts && !withoutEnvironment && !byEnvironment.has(environment) && !declared().environments.has(environment)) {
        ctx.report(
          `${path}.branches.${environment}`,
          `environment '${environment}' has no pipeline account`,
          `an environment of a pipeline account: ${[...byEnvironment.keys()].join(', ') || '(none defined)'}`,
        );
      }
    }
    for (const [rule, generated] of names?.pipelineNames(name) ?? []) {
      const problem = nameProblem(rule, generated);
      if (problem) ctx.report(path, `with prefix '${raw.prefix}', ${problem}`, 'a shorter pipeline name or prefix', undefined);
    }
    const ec2TagKey = p.deploy.ec2TagKey ?? 'Environment';
    if (p.deploy.applicationTagKey !== undefined && p.deploy.applicationTagKey === ec2TagKey) {
      ctx.report(`${path}.deploy.applicationTagKey`, `is the pipeline's ec2TagKey (${ec2TagKey}): an instance has one value of a key, so none would be tagged both ${ec2TagKey}=<environment> and ${ec2TagKey}=${name}`, `another key, such as Application`);
    }
    declaredPipelines.push({
      name,
      repository: p.repository,
      branches: p.branches,
      deploy: {
        type: 'codedeploy',
        deploymentConfig: p.deploy.deploymentConfig ?? 'CodeDeployDefault.OneAtATime',
        ec2TagKey,
        ...(p.deploy.applicationTagKey !== undefined ? { applicationTagKey: p.deploy.applicationTagKey } : {}),
      },
    });
  }
  const pipelines = withApplicationTags(declaredPipelines);
  // Every pipeline account runs a pipeline: one no branch names would get the pipeline accounts' stacks and run nothing.
  // Named by a pipeline as read, or by one that failed its own checks (a misspelt `pipelines` is read as its did-you-mean).
  // Not asked when a pipeline's branches could not be read as written (a misspelt environment, a broken branches
  // mapping, a pipeline not read at all): that is the cause, and the account is right (review s38-lead-diff M1); a
  // pipeline's other problems (its repository misspelt) leave its branches read (review s38-delta D3).
  const runHere = new Set((raw.pipelines ?? []).flatMap(([, p]) => p.branches.map(([environment]) => environment)));
  const read = new Set((raw.pipelines ?? []).map(([name]) => name));
  const branchesUnread = (field: string) =>
    field === 'pipelines' || /^pipelines\.[^.]+\.branches(\.|$)/.test(field) || (/^pipelines\.[^.]+$/.test(field) && !read.has(field.slice('pipelines.'.length)));
  const pipelinesRead = !ctx.problems.some((p) => branchesUnread(p.field));
  for (const [name, a] of raw.accounts ?? []) {
    if (a.role === 'pipeline' && a.environment && raw.pipelines && pipelinesRead && !runHere.has(a.environment) && !declared().branchEnvironments.has(a.environment)) {
      ctx.report(`accounts.${name}`, `pipeline account runs no pipeline: no pipeline names environment '${a.environment}' in its branches`, `a pipeline whose branches name ${a.environment}, or no account ${name}`);
    }
  }

  // Names carry the account id, always 12 digits: one account's names have every account's lengths.
  const prefixProblem = names
    ?.prefixNames(accounts[0]?.id ?? '000000000000', region ?? 'us-east-1')
    .map(([rule, generated]) => nameProblem(rule, generated))
    .find((problem) => problem !== undefined);
  if (prefixProblem) ctx.report('prefix', `'${raw.prefix}' makes a name AWS rejects: ${prefixProblem}`, 'a shorter prefix');
  const reserved = names && reservedBucketName(names.artifactBucket(accounts[0]?.id ?? '000000000000', region ?? 'us-east-1'));
  if (reserved) ctx.report('prefix', `'${raw.prefix}' makes a name AWS rejects: ${reserved}`, `a prefix not starting with ${RESERVED_BUCKET_PREFIXES.join(', ')}`);

  const access = validateAccess(raw, accounts, declared, ctx);
  // No organizationalUnit is needed: SERVICE_MANAGED instances are created through the organization's root, read
  // from Organizations (src/deploy/org-reads.ts OrganizationReads.rootId).
  const stackSets = validateStackSets(raw, ctx);
  const tagsProblem = raw.tags && orgTagsProblem(raw.tags);
  if (tagsProblem) ctx.report('tags', tagsProblem, `at most ${MAX_ORG_TAGS} tags whose keys take at most 256 characters written together, each key once whatever its case`);
  if (ctx.problems.length > 0 || !raw.organization || !partition || !region || !raw.prefix || !raw.accounts || !raw.repositories || !raw.pipelines) return undefined;
  return {
    file,
    recordedFile: recordedPath(file),
    name: orgNameOf(file),
    organizationId: raw.organization.id,
    partition,
    region,
    prefix: raw.prefix,
    accounts,
    repositories,
    pipelines,
    stackSets,
    keyAdministratorRoles: raw.keyAdministratorRoles ?? [],
    deploymentTargets: {
      cloudWatchAgent: raw.deploymentTargets?.cloudWatchAgent ?? false,
      ...(raw.deploymentTargets?.instanceRoles?.length ? { instanceRoles: [...new Set(raw.deploymentTargets.instanceRoles)] } : {}),
    },
    iamQuotas: raw.iamQuotas ?? {},
    stackSetQuotas: raw.stackSetQuotas ?? {},
    eventBridgeQuotas: raw.eventBridgeQuotas ?? {},
    bucketGeneration: raw.bucketGeneration ?? 1,
    artifactRetentionDays: raw.artifactRetentionDays ?? DEFAULT_ARTIFACT_RETENTION_DAYS,
    ...(raw.permissionsBoundary !== undefined ? { permissionsBoundary: raw.permissionsBoundary } : {}),
    tags: raw.tags ?? [],
    access,
  };
}

/** Names that differ only in punctuation or the case of a word's first letter make one CloudFormation identifier (PascalCase, letters and digits). */
function reportLogicalIdCollisions(names: readonly string[], section: string, prefix: string, ctx: Context, where = "the templates' conditions and logical ids"): void {
  const seen = new Map<string, string>();
  for (const name of names) {
    const id = logicalId(prefix, name);
    const first = seen.get(id);
    if (first === undefined) seen.set(id, name);
    // Names that differ only in case are said once, by reportCaseCollisions, with the reason the service gives.
    else if (first.toLowerCase() !== name.toLowerCase()) {
      ctx.report(`${section}.${name}`, `'${name}' and '${first}' both become ${id} in ${where}`, 'names that differ in a letter or digit');
    }
  }
}

/** The application tag key of a pipeline that shares an account and names none (withApplicationTags). */
const DEFAULT_APPLICATION_TAG_KEY = 'Application';

/**
 * Pipelines that share a pipeline account, each selecting its deployment targets by the same `ec2TagKey`: the
 * environment's tag alone would select the other's instances too ("CodeDeploy includes all Amazon EC2 instances
 * identified by any of the tags you specify in this deployment group"), and each would deploy to the other's servers
 * (review s29-identity M1). Such a pipeline without `applicationTagKey` selects by `Application=<its name>` too ("The
 * deployment group includes only Amazon EC2 instances identified by all the tag groups"), in the environments where it
 * shares only (`sharedEnvironments`):
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-codedeploy-deploymentgroup-ec2tagset.html
 * An environment is one pipeline account's, so pipelines share an account where they share an environment.
 */
function withApplicationTags(pipelines: readonly Pipeline[]): Pipeline[] {
  const place = (environment: string, p: Pipeline) => `${environment} ${p.deploy.ec2TagKey}`;
  const pipelinesAt = new Map<string, number>();
  for (const p of pipelines) for (const [environment] of p.branches) pipelinesAt.set(place(environment, p), (pipelinesAt.get(place(environment, p)) ?? 0) + 1);
  return pipelines.map((p) => {
    const shared = p.branches.filter(([environment]) => pipelinesAt.get(place(environment, p))! > 1).map(([environment]) => environment);
    return p.deploy.applicationTagKey === undefined && shared.length > 0
      ? { ...p, deploy: { ...p.deploy, applicationTagKey: DEFAULT_APPLICATION_TAG_KEY, applicationTagDefaulted: true as const, sharedEnvironments: shared } }
      : p;
  });
}

/**
 * `renamedFrom`: a name no other repository has now or was first deployed under, and not its own; the logical id of
 * each repository is its first name's (deployedName), so two that share one would be one resource.
 */
function reportRenames(repositories: readonly Repository[], ctx: Context): void {
  const names = new Set(repositories.map((r) => r.name.toLowerCase()));
  const firstNames = new Map<string, string>();
  for (const r of repositories) {
    if (r.renamedFrom === undefined) continue;
    const field = `repositories.${r.name}.renamedFrom`;
    const first = r.renamedFrom.toLowerCase();
    if (first === r.name.toLowerCase()) ctx.report(field, `'${r.renamedFrom}' is the repository's own name`, 'the name it had before, or no renamedFrom');
    else if (names.has(first)) ctx.report(field, `'${r.renamedFrom}' is the name of another repository of the org file`, 'the name this repository was first deployed under, which no repository has now');
    else if (firstNames.has(first)) ctx.report(field, `'${r.renamedFrom}' is also repository ${firstNames.get(first)}'s renamedFrom`, 'the name this repository alone was first deployed under');
    firstNames.set(first, r.name);
  }
}

/** Names that differ only in case are one name to the service they reach. */
function reportCaseCollisions(names: readonly string[], section: string, why: string, ctx: Context): void {
  const seen = new Map<string, string>();
  for (const name of names) {
    const first = seen.get(name.toLowerCase());
    if (first !== undefined && first !== name) {
      ctx.report(`${section}.${name}`, `'${name}' differs from '${first}' only in case: ${why}`, `names that differ in more than case`);
    } else seen.set(name.toLowerCase(), name);
  }
}

/**
 * With `sso: true`, a role name or pattern no IAM Identity Center role can have: it names its roles
 * "AWSReservedSSO_permission-set-name_unique-suffix" (https://docs.aws.amazon.com/singlesignon/latest/userguide/referencingpermissionsets.html),
 * so `Developer` (the permission set's own name) or `AWSReservedSSO_Developer` (the suffix left out) would be trusted
 * by a role no one can sign in as (review s38-cli M4). A pattern is taken as able to match one when its text before
 * the first wildcard could begin such a name.
 */
function reportUnreachableSsoNames(source: { sso?: boolean; roleNames: readonly string[] }, path: string, example: string, ctx: Context): void {
  if (!source.sso) return;
  source.roleNames.forEach((name, j) => {
    const wildcard = name.search(/[*?]/);
    const reachable = wildcard < 0 ? /^AWSReservedSSO_.+_[^_]+$/.test(name) : SSO_ROLE_START.startsWith(name.slice(0, wildcard)) || name.slice(0, wildcard).startsWith(SSO_ROLE_START);
    if (reachable) return;
    const set = wildcard < 0 ? name.replace(/^AWSReservedSSO_/, '') : undefined;
    ctx.report(
      `${path}.roleNames[${j}]`,
      `'${name}' is no name IAM Identity Center gives a role (sso: true): it names them AWSReservedSSO_<permission set>_<suffix>`,
      `AWSReservedSSO_${set && /^[\w+=,.@-]+$/.test(set) ? set : example}_* (the permission set's roles, whatever their suffix)`,
    );
  });
}
const SSO_ROLE_START = 'AWSReservedSSO_';

function validateAccess(raw: Raw, accounts: readonly Account[], declared: () => DeclaredNames, ctx: Context): Access {
  const a = raw.access;
  if (!a) return {};
  const known = (name: string, path: string) => {
    if (raw.accounts && !accounts.some((x) => x.name === name) && !declared().accounts.has(name)) {
      ctx.report(path, `there is no account '${name}'`, `one of: ${accounts.map((x) => x.name).join(', ')}`);
    }
  };
  a.developers?.assumedBy.forEach((s, i) => known(s.account, `access.developers.assumedBy[${i}].account`));
  a.developers?.maintainers?.forEach((s, i) => known(s.account, `access.developers.maintainers[${i}].account`));
  a.developers?.assumedBy.forEach((s, i) => reportUnreachableSsoNames(s, `access.developers.assumedBy[${i}]`, 'Developer', ctx));
  a.developers?.maintainers?.forEach((s, i) => reportUnreachableSsoNames(s, `access.developers.maintainers[${i}]`, 'Maintainer', ctx));
  // A maintainers' pattern that matches the developers' roles of its account makes every developer a maintainer.
  a.developers?.maintainers?.forEach((m, i) =>
    m.roleNames.forEach((pattern, j) => {
      a.developers!.assumedBy.forEach((d, k) => {
        const developer = d.account === m.account && d.roleNames.find((name) => matches(pattern, sampleOf(name)));
        if (developer) {
          ctx.report(
            `access.developers.maintainers[${i}].roleNames[${j}]`,
            `'${pattern}' also matches the developers' roles ('${developer}', access.developers.assumedBy[${k}]): every developer could assume the maintainer role and write the protected branches`,
            "a name or pattern of the maintainers' own roles (their own permission set, e.g. AWSReservedSSO_Maintainer_*)",
          );
        }
      });
    }),
  );
  if (a.developers?.maintainers && (a.developers.protectedBranches ?? []).length === 0) {
    ctx.report(
      'access.developers.maintainers',
      'has no protected branch to write: without protectedBranches the developer role already writes every branch',
      'protectedBranches (the branches only maintainers write), or no maintainers',
    );
  }
  if (a.ci) known(a.ci.account, 'access.ci.account');
  const eks = a.ci?.eks;
  if (eks?.mode === 'pod-identity' && !eks.cluster) ctx.report('access.ci.eks', 'EKS Pod Identity needs the cluster the association is made in', 'cluster: <EKS cluster name>');
  if (eks?.mode === 'irsa' && !eks.oidcIssuer) ctx.report('access.ci.eks', "IRSA needs the cluster's OIDC issuer, which the role trusts", 'oidcIssuer: oidc.eks.<region>.amazonaws.com/id/<id>');
  const network = a.ci?.network;
  // The CI network's STS endpoint (private DNS: every STS call from its subnets) admits the CI role's AssumeRole of
  // the reader roles only (templates/ci-network.ts). IRSA's AssumeRoleWithWebIdentity is an unsigned call that no
  // principal condition can admit, and Pod Identity reaches the EKS Auth API, for which an isolated network has no
  // endpoint: https://docs.aws.amazon.com/eks/latest/userguide/private-clusters.html
  if (network && eks?.mode === 'irsa') {
    ctx.report('access.ci.network', "with eks mode irsa: the CI network's STS endpoint admits only the CI role assuming the reader roles, and IRSA's AssumeRoleWithWebIdentity through it would be refused", 'no network (the cluster keeps its own VPC), or eks mode pod-identity');
  } else if (network?.nat === false && eks?.mode === 'pod-identity') {
    ctx.report('access.ci.network.nat', 'false with eks mode pod-identity: EKS Pod Identity calls the EKS Auth API, which an isolated CI network has no endpoint for', 'nat: true, or no network (the cluster keeps its own VPC)');
  }
  // Isolated, a CI host on EC2 pulls its images from the ECR namespace <prefix>-ci/ (naming.ts ciImageRepositories),
  // which ECR's repository-name pattern must take: no two separators in a row, so no '--' in the prefix.
  // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html (repositoryName, Pattern, as
  // the SDK's models carry it; ECR Public's page gives the same: https://docs.amazonaws.cn/goto/WebAPI/ecr-public-2020-10-30/CreateRepository)
  if (network?.nat === false && !eks && typeof raw.prefix === 'string' && !ECR_REPOSITORY_NAME.test(`${raw.prefix}-ci/jenkins`)) {
    ctx.report('prefix', `'${raw.prefix}' makes the isolated CI host's ECR namespace '${raw.prefix}-ci', which ECR's repository names refuse (between letters or digits ECR takes one '-', '.' or '_', not two in a row)`, 'a prefix without two hyphens in a row');
  }
  const availabilityZones = network?.availabilityZones ?? 2;
  if (network?.availabilityZoneIds) checkAvailabilityZoneIds(network.availabilityZoneIds, network.availabilityZones, raw.organization?.region, ctx);
  // Every source assumedBy names is a role, so every developer session is role chaining: the developer role's
  // AssumeRole is made with another role's session. "The temporary credentials returned by AssumeRole do not include
  // MFA information in the context" (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_configure-api-require.html),
  // and a role session cannot supply one (AssumeRole's SerialNumber is an IAM user's MFA device), so
  // aws:MultiFactorAuthPresent never holds: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-multifactorauthpresent
  if (a.developers?.requireMfa) {
    a.developers.assumedBy.forEach((s, i) => {
      const kind = s.sso ? 'IAM Identity Center roles' : s.federated ? 'federated roles' : 'roles (the developer role is assumed from their sessions: role chaining)';
      ctx.report(
        'access.developers.requireMfa',
        `cannot be satisfied by ${kind} (access.developers.assumedBy[${i}]): their sessions carry no aws:MultiFactorAuthPresent`,
        `requireMfa: false, with MFA enforced where the first session is made (IAM Identity Center, your IdP, or the trust of the roles assumedBy names)`,
      );
    });
  }
  // "Role chaining limits your AWS CLI or AWS API role session to a maximum of one hour", and an AssumeRole that asks
  // for longer fails (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html#iam-term-role-chaining):
  // a longer MaxSessionDuration on the developer role would promise sessions no developer can get.
  const hours = a.developers?.maxSessionHours;
  if (hours !== undefined && hours > 1) {
    ctx.report(
      'access.developers.maxSessionHours',
      `${hours} cannot take effect: developers assume the developer role from another role's session (role chaining), which AWS limits to one hour, and an AssumeRole asking for more fails`,
      'maxSessionHours: 1, or leave it out (the session is renewed by the AWS CLI profile when it ends)',
    );
  }
  return {
    ...(a.developers
      ? {
          developers: {
            assumedBy: a.developers.assumedBy.map(roleSourceOf),
            protectedBranches: a.developers.protectedBranches ?? [],
            maintainers: (a.developers.maintainers ?? []).map(roleSourceOf),
            listRepositories: a.developers.listRepositories ?? true,
          },
        }
      : {}),
    ...(a.ci
      ? {
          ci: {
            account: a.ci.account,
            runtime: !eks
              ? { kind: 'ec2' as const }
              : eks.mode === 'irsa'
                ? { kind: 'eks-irsa' as const, oidcIssuer: eks.oidcIssuer ?? '', namespace: eks.namespace, serviceAccount: eks.serviceAccount }
                : { kind: 'eks-pod-identity' as const, cluster: eks.cluster ?? '', namespace: eks.namespace, serviceAccount: eks.serviceAccount },
            ...(network
              ? {
                  network: {
                    cidr: network.cidr,
                    availabilityZones,
                    nat: network.nat ?? true,
                    ...(network.availabilityZoneIds ? { availabilityZoneIds: network.availabilityZoneIds } : {}),
                  },
                }
              : {}),
          },
        }
      : {}),
  };
}

/**
 * One AZ ID per CI subnet, a different zone each, all of the org's Region.
 * Run once every ID has passed its own check, so positions and counts are the file's.
 */
function checkAvailabilityZoneIds(ids: readonly string[], availabilityZones: number | undefined, region: string | undefined, ctx: Context): void {
  const path = 'access.ci.network.availabilityZoneIds';
  if (ctx.problems.some((p) => p.field.startsWith(`${path}[`))) return;
  const subnets = availabilityZones ?? 2;
  if (ids.length !== subnets) {
    ctx.report(
      path,
      `lists ${ids.length} AZ ID${ids.length === 1 ? '' : 's'} for ${subnets} CI subnet${subnets === 1 ? '' : 's'}`,
      `${subnets} AZ ID${subnets === 1 ? '' : 's'}, one per CI subnet (availabilityZones: ${subnets}${availabilityZones === undefined ? ', the default' : ''})`,
    );
  }
  const prefix = region && partitionOfRegion(region) ? azIdPrefix(region) : undefined;
  ids.forEach((id, i) => {
    const first = ids.indexOf(id);
    if (first < i) ctx.report(`${path}[${i}]`, `'${id}' is also availabilityZoneIds[${first}]`, 'a different zone for each CI subnet');
    else if (prefix && !id.startsWith(`${prefix}-az`)) ctx.report(`${path}[${i}]`, `'${id}' is not a zone of the org's Region, ${region}`, `an AZ ID of ${region}: ${prefix}-az1, ${prefix}-az2, …`);
  });
}

function validateStackSets(raw: Raw, ctx: Context): StackSetSettings {
  const s = raw.stackSets ?? {};
  const permissionModel = (s.permissionModel ?? DEFAULT_STACKSETS.permissionModel) as StackSetSettings['permissionModel'];
  const prefs = s.operationPreferences ?? {};
  const path = 'stackSets.operationPreferences';
  if (prefs.maxConcurrentCount !== undefined && prefs.maxConcurrentPercentage !== undefined) {
    ctx.report(path, 'sets both maxConcurrentCount and maxConcurrentPercentage', 'one of the two');
  }
  if (prefs.failureToleranceCount !== undefined && prefs.failureTolerancePercentage !== undefined) {
    ctx.report(path, 'sets both failureToleranceCount and failureTolerancePercentage', 'one of the two');
  }
  // Under STRICT_FAILURE_TOLERANCE (the default) "the initial actual concurrency is set to the lower of either the value of
  // the MaxConcurrentCount, or the value of FailureToleranceCount +1", and FailureToleranceCount is 0 unless set:
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperationPreferences.html
  // A count above it would be silently lowered (and the rollout-time model would count on it), so it is refused.
  const tolerance = prefs.failureToleranceCount ?? (prefs.failureTolerancePercentage === undefined ? 0 : undefined);
  if (prefs.concurrencyMode !== 'SOFT_FAILURE_TOLERANCE' && prefs.maxConcurrentCount !== undefined && tolerance !== undefined && prefs.maxConcurrentCount > tolerance + 1) {
    const unset = prefs.failureToleranceCount === undefined ? ', failureToleranceCount being 0 when not set' : '';
    ctx.report(
      `${path}.maxConcurrentCount`,
      `${prefs.maxConcurrentCount} exceeds failureToleranceCount + 1 (${tolerance + 1}${unset}) under strict failure tolerance, so AWS would run ${tolerance + 1} at a time`,
      `at most ${tolerance + 1}, a failureToleranceCount of at least ${prefs.maxConcurrentCount - 1}, or concurrencyMode: SOFT_FAILURE_TOLERANCE`,
    );
  }
  // "If failure tolerance or Maximum concurrent accounts are set to percentages, the behavior is similar" (the page
  // above): a percentage with no failure tolerance (0 unless set) runs one account at a time. Where the tolerance is a
  // count, or a percentage above 0, what AWS runs depends on how many accounts an operation has: README, rollout time.
  const noTolerance = !prefs.failureToleranceCount && !prefs.failureTolerancePercentage;
  if (prefs.concurrencyMode !== 'SOFT_FAILURE_TOLERANCE' && prefs.maxConcurrentPercentage !== undefined && prefs.maxConcurrentPercentage > 0 && noTolerance) {
    const set = prefs.failureToleranceCount === 0 || prefs.failureTolerancePercentage === 0 ? 'a failure tolerance of 0' : 'no failure tolerance (0 when not set)';
    ctx.report(
      `${path}.maxConcurrentPercentage`,
      `${prefs.maxConcurrentPercentage} % with ${set} under strict failure tolerance, so AWS would run one account at a time`,
      `a failureToleranceCount above 0 (strict mode runs at most failureToleranceCount + 1 at once; a failureTolerancePercentage is rounded down to whole accounts, so 0 in an operation of few), or concurrencyMode: SOFT_FAILURE_TOLERANCE`,
    );
  }
  if (permissionModel === 'SELF_MANAGED' && s.callAs === 'DELEGATED_ADMIN') {
    ctx.report('stackSets.callAs', 'DELEGATED_ADMIN applies to SERVICE_MANAGED StackSets only', "callAs: SELF, or permissionModel: SERVICE_MANAGED");
  }
  // The mirror case (review s50-input m8): CreateStackSet's AdministrationRoleARN is "Valid only if the permissions
  // model is SELF_MANAGED" (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackSet.html);
  // with service-managed permissions "StackSets automatically creates the IAM roles required" (API_StackSet.html,
  // PermissionModel). executionRoleName stays meaningful there: a custom execution role (below).
  if (permissionModel === 'SERVICE_MANAGED' && s.administrationRoleName !== undefined) {
    ctx.report('stackSets.administrationRoleName', 'applies to SELF_MANAGED StackSets only: SERVICE_MANAGED StackSets take no administration role', 'no administrationRoleName with permissionModel: SERVICE_MANAGED');
  }
  return {
    permissionModel,
    administrationRoleName: s.administrationRoleName ?? DEFAULT_STACKSETS.administrationRoleName,
    // SERVICE_MANAGED: "By default, StackSets with service-managed permissions creates an execution role named
    // stacksets-exec-* in each target account"; with a custom execution role template, "StackSets uses that role for all
    // subsequent operations in the account", under the name the org's template gives it, which executionRoleName then
    // names (the artifact key policy must admit it: KMS refuses a key policy that locks out its creator).
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-custom-execution-role.html
    executionRoleName: s.executionRoleName ?? (permissionModel === 'SERVICE_MANAGED' ? SERVICE_MANAGED_EXECUTION_ROLE : DEFAULT_STACKSETS.executionRoleName),
    callAs: (s.callAs ?? 'SELF') as StackSetSettings['callAs'],
    operationPreferences: prefs as StackSetSettings['operationPreferences'],
  };
}
