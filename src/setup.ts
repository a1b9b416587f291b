/**
 * dist/<org>/setup/: the one template a user deploys by hand, once, before xstack can reach the target accounts
 * (review s32-walkthrough M2, M3), compiled with the org so that it names the org's own roles and policies and goes
 * to auditors with the rest:
 * - SELF_MANAGED: `bootstrap-access.yaml`, the role bootstrap's `--access-role` names, for an administrator account
 *   other than the management account (templates/bootstrap-access.ts);
 * - SERVICE_MANAGED: `reader-role.yaml`, the role plan, deploy and destroy read each target account with
 *   (`--output-reader-role`), which nothing else creates there (templates/service-managed-reader.ts).
 * Each takes the administrator account and its roles that run xstack as parameters: they are the user's choice,
 * made before the first deploy records the administrator account.
 */
import { renderTemplate, type CfnTemplate } from './cfn/template';
import { sha256 } from './hash';
import { toYaml } from './yaml';
import { readerPolicyForEveryAccount } from './deploy/reader-policy';
import { declaredQuotas } from './limits';
import { Names } from './naming';
import type { Org } from './org/model';
import type { Stage } from './stages/model';
import { bootstrapAccess } from '../templates/bootstrap-access';
import { serviceManagedReader } from '../templates/service-managed-reader';

export const BOOTSTRAP_ACCESS_FILE = 'setup/bootstrap-access.yaml';
export const READER_ROLE_FILE = 'setup/reader-role.yaml';

/**
 * Said when STS refuses the SERVICE_MANAGED setup template's reader role: what makes it and whom it trusts. `reads`
 * says who assumes it for what; `otherwise` the way past it where the command takes another role.
 */
export const setupReaderRefused = (orgName: string, reads: string, otherwise = '') =>
  `with SERVICE_MANAGED StackSets the reader role, which ${reads}, is made by the setup template dist/${orgName}/${READER_ROLE_FILE}: deploy it once from the management account or the StackSets delegated administrator to every target account, with this identity's role among its TrustedRoleArns (README, "Setup templates")${otherwise}; this identity's own policy must allow sts:AssumeRole on that role too`;

/**
 * The tag each setup template's role carries: the SHA-256 of the template as compiled without the tag. The user
 * deploys the file, not xstack, so nothing else tells whether an account's role is this compile's (review s33-setup
 * M1): a call refused through the role reads the tag (iam:GetRole on itself, which each setup policy grants) and says
 * whether the setup StackSet runs an older file there. IAM returns a role's tags with GetRole ("A list of tags that
 * are attached to the role", https://docs.aws.amazon.com/IAM/latest/APIReference/API_Role.html).
 */
export const SETUP_DIGEST_TAG = 'xstack:setup-sha256';

export interface SetupTemplate {
  /** Where it goes under dist/<org>/. */
  path: string;
  template: CfnTemplate;
  /** The role it makes, by name, and the digest its SETUP_DIGEST_TAG carries. */
  role: string;
  digest: string;
}

/** The org's setup template, rendered, its role tagged with the digest of the rest. */
export function setupTemplate(org: Org, stages: readonly Stage[]): SetupTemplate {
  const names = new Names(org.prefix);
  if (org.stackSets.permissionModel === 'SERVICE_MANAGED') {
    const template = renderTemplate(serviceManagedReader({ names, reads: readerPolicyForEveryAccount({ org, stages }), readsQuotas: declaredQuotas(org).length > 0 }));
    return tagged(READER_ROLE_FILE, template, 'ReaderRole', names.outputReaderRole());
  }
  const definition = bootstrapAccess({ names, executionRoleName: org.stackSets.executionRoleName, tags: org.tags.length > 0 });
  return tagged(BOOTSTRAP_ACCESS_FILE, renderTemplate(definition), 'BootstrapAccessRole', names.bootstrapAccessRole());
}

function tagged(path: string, template: CfnTemplate, logicalId: string, role: string): SetupTemplate {
  const digest = sha256(toYaml(template));
  const resource = template.Resources[logicalId];
  resource.Properties = { ...resource.Properties, Tags: [{ Key: SETUP_DIGEST_TAG, Value: digest }] };
  return { path, template, role, digest };
}
