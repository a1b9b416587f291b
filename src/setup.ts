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
import { readerPolicyForEveryAccount } from './deploy/reader-policy';
import { declaredQuotas } from './limits';
import { Names } from './naming';
import type { Org } from './org/model';
import type { Stage } from './stages/model';
import { bootstrapAccess } from '../templates/bootstrap-access';
import { serviceManagedReader } from '../templates/service-managed-reader';

export const BOOTSTRAP_ACCESS_FILE = 'setup/bootstrap-access.yaml';
export const READER_ROLE_FILE = 'setup/reader-role.yaml';

/** The org's setup template, rendered, and where it goes under dist/<org>/. */
export function setupTemplate(org: Org, stages: readonly Stage[]): { path: string; template: CfnTemplate } {
  const names = new Names(org.prefix);
  if (org.stackSets.permissionModel === 'SERVICE_MANAGED') {
    return { path: READER_ROLE_FILE, template: renderTemplate(serviceManagedReader({ names, reads: readerPolicyForEveryAccount({ org, stages }) })) };
  }
  const definition = bootstrapAccess({ names, executionRoleName: org.stackSets.executionRoleName, readsQuotas: declaredQuotas(org).length > 0, tags: org.tags.length > 0 });
  return { path: BOOTSTRAP_ACCESS_FILE, template: renderTemplate(definition) };
}

