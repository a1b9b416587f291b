export function generateOrgYaml(pipelineAccounts: number, options?: { organizationId?: string }): string;
export function generateTeamsOrgYaml(
  teams: number,
  options?: { repositoriesPerTeam?: number; environments?: readonly string[]; organizationId?: string; ci?: boolean },
): string;
