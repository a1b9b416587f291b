/**
 * The compile's own check that every role of every template has the org's permissions boundary (compile.ts): with
 * the planner's bounding turned off (withPermissionsBoundary made to hand definitions back as they are), the compile
 * must fail naming each role, rather than write templates that CreateRole would be refused for under the org's SCP.
 * A file of its own: the module is replaced for every test of the file.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { compileProblems } from './helpers';

vi.mock('../src/iam/permissions-boundary', async (original) => ({
  ...(await original<typeof import('../src/iam/permissions-boundary')>()),
  withPermissionsBoundary: (definition: unknown) => definition,
}));

describe('a role left without the boundary', () => {
  it('fails the compile, naming the stage and the role', () => {
    const problems = compileProblems(`${readFileSync('parameters/example.yaml', 'utf8')}permissionsBoundary: boundaries/workload-boundary\n`, 'parameters/example.yaml');
    expect(problems).toContain("pipeline-identity: internal: role PipelineRole lacks the org's permissions boundary boundaries/workload-boundary");
    expect(problems.filter((p) => p.includes("lacks the org's permissions boundary")).length).toBeGreaterThanOrEqual(11);
  });
});
