/**
 * Two org files that would create the same IAM names in one account. Role,
 * managed policy and instance profile names are `<prefix>-<purpose>` and
 * carry no region, and "IAM user, group, role, and policy names must be
 * unique within the account" (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html),
 * in every region at once ("Naming an IAM resource can cause an unrecoverable
 * error if you reuse the same template in multiple Regions",
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-role.html).
 * So two orgs of one prefix that share an account collide there, in one
 * region or two: the second rollout fails with "already exists", or, worse,
 * one org's deploy updates the other's roles. Only the org files compiled
 * together can be seen here.
 */
import type { Org } from './model';

export function sharedIamNames(orgs: readonly Org[]): string[] {
  const problems: string[] = [];
  for (let i = 0; i < orgs.length; i++) {
    for (let j = i + 1; j < orgs.length; j++) {
      const [a, b] = [orgs[i], orgs[j]];
      if (a.prefix !== b.prefix) continue;
      const inB = new Map(b.accounts.map((x) => [x.id, x.name]));
      const shared = a.accounts.filter((x) => inB.has(x.id));
      if (shared.length === 0) continue;
      const listed = shared.slice(0, 3).map((x) => `${x.id} (${x.name} in ${a.file}, ${inB.get(x.id)} in ${b.file})`);
      const more = shared.length > listed.length ? ` and ${shared.length - listed.length} more` : '';
      problems.push(
        `${a.file} and ${b.file} both have prefix '${a.prefix}' and deploy to ${listed.join(', ')}${more}: their IAM roles and policies would have the same names there ` +
          `(IAM names carry no region and are unique in an account), so one org would fail on, or take over, the other's; give one of them another prefix`,
      );
    }
  }
  return problems;
}
