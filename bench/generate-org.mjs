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
    lines.push('    deploy:', '      type: codedeploy');
  }
  // One source role per pipeline account: past about 990 of them the source account needs the raised
  // IAM role quota (1,000 by default, 5,000 on request), which an org of this size declares.
  if (pipelineAccounts > 990) lines.push('iamQuotas:', '  rolesPerAccount: 2000');
  return `${lines.join('\n')}\n`;
}
