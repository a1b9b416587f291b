// Writes a synthetic organization file with N pipeline accounts (one per
// environment), one source account and two repositories; used by the
// benchmark and the scale tests.
export function generateOrgYaml(pipelineAccounts, { organizationId = 'o-bench12345' } = {}) {
  const lines = ['organization:'];
  if (organizationId) lines.push(`  id: ${organizationId}`);
  lines.push('  partition: aws', '  region: us-east-1', 'prefix: big', 'accounts:', '  source:', '    id: "900000000000"', '    role: source');
  const envs = [];
  for (let i = 1; i <= pipelineAccounts; i++) {
    const env = `env${String(i).padStart(4, '0')}`;
    envs.push(env);
    lines.push(`  ${env}:`, `    id: "${String(100000000000 + i)}"`, '    role: pipeline', `    environment: ${env}`);
  }
  lines.push('repositories:', '  app:', '    account: source', '  lib:', '    account: source', 'pipelines:');
  for (const repo of ['app', 'lib']) {
    lines.push(`  ${repo}:`, `    repository: ${repo}`, '    branches:');
    envs.forEach((env, i) => lines.push(`      ${env}: ${i % 2 === 0 ? 'main' : 'release'}`));
    lines.push('    deploy:', '      type: codedeploy', '      applicationTagKey: Application');
  }
  // One source role per pipeline account: past about 990 of them the source account needs the raised
  // IAM role quota (1,000 by default, 5,000 on request), which an org of this size declares.
  if (pipelineAccounts > 990) lines.push('iamQuotas:', '  rolesPerAccount: 2000');
  // 4 forwarding rules per 10 pipeline accounts on the source account's default bus (2 repositories x 2 branches,
  // 5 targets a rule): past 750 of them it needs EventBridge's raised rules quota (300 a bus by default in us-east-1,
  // raised on request: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html); 1,000 holds the rules
  // of as many pipeline accounts as the role quota above (800 at 1,999).
  if (pipelineAccounts > 750) lines.push('eventBridgeQuotas:', '  rulesPerBus: 1000');
  return `${lines.join('\n')}\n`;
}

// Writes a synthetic organization shaped like a large company (issue #12):
// per team one source account holding the team's repositories and one
// pipeline account per environment (environment names are unique in the org,
// so each is the team's: t042-dev), one pipeline per repository with a branch
// per environment (dev: develop, staging: release, prod: main, any other:
// main), and one tools account from which developers (IAM Identity Center)
// reach the repositories. Accounts: teams × (1 + environments) + 1.
const TEAM_BRANCHES = { dev: 'develop', staging: 'release', prod: 'main' };
// With `ci`, the CI in the tools account with a CI network (parameters/example.yaml's access.ci).
export function generateTeamsOrgYaml(teams, { repositoriesPerTeam = 2, environments = ['dev', 'staging', 'prod'], organizationId = 'o-bench12345', ci = false } = {}) {
  const lines = ['organization:'];
  if (organizationId) lines.push(`  id: ${organizationId}`);
  lines.push('  partition: aws', '  region: us-east-1', 'prefix: big', 'accounts:', '  tools:', '    id: "100000000000"', '    role: tools');
  // Ids are handed out in sequence from 200000000000: unique, and 12 digits for any org AWS could hold.
  let nextId = 200000000000;
  const width = Math.max(3, String(teams).length);
  const teamNames = Array.from({ length: teams }, (_, i) => `t${String(i + 1).padStart(width, '0')}`);
  for (const team of teamNames) {
    lines.push(`  ${team}-source:`, `    id: "${nextId++}"`, '    role: source');
    for (const env of environments) lines.push(`  ${team}-${env}:`, `    id: "${nextId++}"`, '    role: pipeline', `    environment: ${team}-${env}`);
  }
  const repositories = teamNames.flatMap((team) => Array.from({ length: repositoriesPerTeam }, (_, r) => ({ team, name: `${team}-svc${r + 1}` })));
  lines.push('repositories:');
  for (const { team, name } of repositories) lines.push(`  ${name}:`, `    account: ${team}-source`);
  lines.push('pipelines:');
  for (const { team, name } of repositories) {
    lines.push(`  ${name}:`, `    repository: ${name}`, '    branches:');
    for (const env of environments) lines.push(`      ${team}-${env}: ${TEAM_BRANCHES[env] ?? 'main'}`);
    lines.push('    deploy:', '      type: codedeploy', '      applicationTagKey: Application');
  }
  lines.push('access:', '  developers:', '    assumedBy:', '      - account: tools', '        roleNames: ["AWSReservedSSO_Developer_*"]', '        sso: true');
  if (ci) lines.push('  ci:', '    account: tools', '    network:', '      cidr: 10.20.0.0/16', '      availabilityZones: 2');
  return `${lines.join('\n')}\n`;
}
