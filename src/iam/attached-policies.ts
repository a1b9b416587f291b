/**
 * The managed policies a compile's templates attach by name to roles they do not make in the same template (the
 * pipelines' policies on the pipeline role, pipeline-foundation's DeployTargetArtifactsPolicy on the deployment
 * targets' roles), by account: what src/deploy/role-attachments.ts reads in AWS, and what the reader role may list
 * (src/deploy/reader-policy.ts). Apart from the reads, so that the compile, which writes the setup template's reader
 * policy, loads no AWS client (as src/iam/reader-actions.ts).
 */
import type { CompiledOrg } from '../compile';
import { flatValues, Resolver } from '../audit/resolve';
import { roleNameOf } from './role-path';

/** One managed policy a template attaches by name to a role it does not make. */
export interface Attachment {
  /** The role's name, as ListEntitiesForPolicy answers it (no path). */
  readonly role: string;
  /** The policy's ARN in the account, as ListEntitiesForPolicy takes it. */
  readonly policyArn: string;
  /** The stage whose template holds the policy. */
  readonly stage: string;
}

/**
 * Account id → the managed policies its stages' templates attach by name to roles they do not make, each resolved
 * with that account's values where the policy exists there (its Condition), in the stages' and templates' order.
 */
export function attachmentsByAccount(compiled: Pick<CompiledOrg, 'org' | 'stages'>): Map<string, Attachment[]> {
  const resolver = new Resolver(compiled.org, compiled.stages);
  const { partition } = compiled.org;
  const byAccount = new Map<string, Attachment[]>();
  for (const stage of compiled.stages) {
    const template = resolver.template(stage.id);
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      if (resource.Type !== 'AWS::IAM::ManagedPolicy') continue;
      const properties = (resource.Properties ?? {}) as Record<string, unknown>;
      // A role of this template (a Ref, or a GetAtt of it) is made again with the policy's own stack.
      const named = ((properties.Roles ?? []) as unknown[]).filter((r) => !(typeof r === 'object' && r !== null && ('Ref' in r || 'Fn::GetAtt' in r)));
      if (named.length === 0) continue;
      const roles = resolver.compile(stage.id, named);
      const name = resolver.compile(stage.id, properties.ManagedPolicyName);
      // A managed policy's ARN holds its path (`policy/<path><name>`, "/" when none is given):
      // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns
      const path = properties.Path === undefined ? undefined : resolver.compile(stage.id, properties.Path);
      for (const account of resolver.accountsWith(stage.id, logicalId)) {
        const [policyName] = flatValues(name.at(account));
        // Every managed policy xstack writes is named (iam-entities.ts); one that is not could not be found by name.
        if (policyName === undefined) continue;
        const policyPath = path === undefined ? '/' : (flatValues(path.at(account))[0] ?? '/');
        const policyArn = `arn:${partition}:iam::${account}:policy${policyPath}${policyName}`;
        const list = byAccount.get(account) ?? byAccount.set(account, []).get(account)!;
        for (const role of flatValues(roles.at(account))) list.push({ role: roleNameOf(role), policyArn, stage: stage.id });
      }
    }
  }
  return byAccount;
}

const attachmentsMemo = new WeakMap<CompiledOrg['stages'], Map<string, Attachment[]>>();
/** attachmentsByAccount, made once for a compile's stages: bootstrap asks it of every account's reader policy. */
export function attachmentsOf(compiled: Pick<CompiledOrg, 'org' | 'stages'>): Map<string, Attachment[]> {
  let made = attachmentsMemo.get(compiled.stages);
  if (!made) attachmentsMemo.set(compiled.stages, (made = attachmentsByAccount(compiled)));
  return made;
}

