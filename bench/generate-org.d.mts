export function generateOrgYaml(pipelineAccounts: number, options?: { organizationId?: string }): string;
