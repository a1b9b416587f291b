/**
 * The IAM entities a compile's templates make in each target account, by name: its roles, customer managed policies
 * and instance profiles, each resolved with that account's values where its resource exists there (its Condition).
 * Bootstrap compares them with the room the account has left under IAM's quotas of each (account-quotas.ts).
 * Every role, managed policy and instance profile the templates write has its name set (RoleName, ManagedPolicyName,
 * InstanceProfileName), at path `/`: a name says whether the entity exists already (GetRole, GetPolicy,
 * GetInstanceProfile).
 */
import type { CompiledOrg } from '../compile';
import { flatValues, Resolver } from '../audit/resolve';

export interface IamEntities {
  roles: Set<string>;
  policies: Set<string>;
  instanceProfiles: Set<string>;
}

const NAME_OF: Readonly<Record<string, { field: string; kind: keyof IamEntities }>> = {
  'AWS::IAM::Role': { field: 'RoleName', kind: 'roles' },
  'AWS::IAM::ManagedPolicy': { field: 'ManagedPolicyName', kind: 'policies' },
  'AWS::IAM::InstanceProfile': { field: 'InstanceProfileName', kind: 'instanceProfiles' },
};

export const noIamEntities = (): IamEntities => ({ roles: new Set(), policies: new Set(), instanceProfiles: new Set() });

/** Account id → the names its stages' templates give the entities they make there, in template order. */
export function iamEntitiesByAccount(compiled: Pick<CompiledOrg, 'org' | 'stages'>): Map<string, IamEntities> {
  const resolver = new Resolver(compiled.org, compiled.stages);
  const byAccount = new Map<string, IamEntities>();
  for (const stage of compiled.stages) {
    const template = resolver.template(stage.id);
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      const named = NAME_OF[resource.Type];
      if (!named) continue;
      const name = resolver.compile(stage.id, (resource.Properties as Record<string, unknown> | undefined)?.[named.field]);
      for (const account of resolver.accountsWith(stage.id, logicalId)) {
        const entities = byAccount.get(account) ?? byAccount.set(account, noIamEntities()).get(account)!;
        for (const n of flatValues(name.at(account))) entities[named.kind].add(n);
      }
    }
  }
  return byAccount;
}
