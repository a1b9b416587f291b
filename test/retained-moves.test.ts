// A retained resource with a fixed name moving between the parts of a family
// (src/deploy/moves.ts): found from the deployed and the compiled templates.
import { describe, expect, it } from 'vitest';
import type { CfnTemplate } from '../src/cfn/template';
import { familyMoves, type FamilyPart } from '../src/deploy/moves';

/** The moves deploy refuses: of retained resources. */
const retainedMoves = (parts: readonly FamilyPart[]) => familyMoves(parts).filter((m) => m.retained).map(({ retained: _, ...m }) => m);

const repository = (name: string) => ({ Type: 'AWS::CodeCommit::Repository', DeletionPolicy: 'Retain', Properties: { RepositoryName: name } });
const role = { Type: 'AWS::IAM::Role', Properties: {} };
const template = (resources: Record<string, unknown>): CfnTemplate => ({ Resources: resources }) as unknown as CfnTemplate;

describe('retained resources moving between the parts of a family', () => {
  it('a repository leaving one part for another is a move; a role is not (it is replaced, and may be)', () => {
    const moves = retainedMoves([
      { stackSet: 'acme-source-repositories', deployed: template({ RepositoryA: repository('a'), RepositoryB: repository('b'), RoleA: role }), desired: template({ RepositoryA: repository('a') }) },
      { stackSet: 'acme-source-repositories-2', deployed: template({ RepositoryC: repository('c') }), desired: template({ RepositoryB: repository('b'), RepositoryC: repository('c'), RoleA: role }) },
    ]);
    expect(moves).toEqual([{ logicalId: 'RepositoryB', type: 'AWS::CodeCommit::Repository', from: 'acme-source-repositories', to: 'acme-source-repositories-2' }]);
  });

  it('every resource that changes part is a move; only a retained one of fixed name is one deploy refuses', () => {
    expect(
      familyMoves([
        { stackSet: 'acme-source-repositories', deployed: template({ RepositoryA: repository('a'), RepositoryB: repository('b'), RoleA: role }), desired: template({ RepositoryA: repository('a') }) },
        { stackSet: 'acme-source-repositories-2', deployed: template({ RepositoryC: repository('c') }), desired: template({ RepositoryB: repository('b'), RepositoryC: repository('c'), RoleA: role }) },
      ]),
    ).toEqual([
      { logicalId: 'RepositoryB', type: 'AWS::CodeCommit::Repository', from: 'acme-source-repositories', to: 'acme-source-repositories-2', retained: true },
      { logicalId: 'RoleA', type: 'AWS::IAM::Role', from: 'acme-source-repositories', to: 'acme-source-repositories-2', retained: false },
    ]);
  });

  it('into a part not deployed yet, and out of a part the org no longer has', () => {
    expect(
      retainedMoves([
        { stackSet: 'acme-source-repositories', deployed: template({ RepositoryA: repository('a'), RepositoryB: repository('b') }), desired: template({ RepositoryA: repository('a') }) },
        { stackSet: 'acme-source-repositories-2', desired: template({ RepositoryB: repository('b') }) },
      ]).map((m) => m.to),
    ).toEqual(['acme-source-repositories-2']);
    expect(
      retainedMoves([
        { stackSet: 'acme-source-repositories', deployed: template({ RepositoryA: repository('a') }), desired: template({ RepositoryA: repository('a'), RepositoryB: repository('b') }) },
        { stackSet: 'acme-source-repositories-2', deployed: template({ RepositoryB: repository('b') }) },
      ]).map((m) => m.from),
    ).toEqual(['acme-source-repositories-2']);
  });

  it('a repository added, removed or staying where it is moves nothing; nor does a first rollout', () => {
    expect(
      retainedMoves([
        { stackSet: 'p', deployed: template({ RepositoryA: repository('a'), RepositoryGone: repository('g') }), desired: template({ RepositoryA: repository('a'), RepositoryNew: repository('n') }) },
        { stackSet: 'p-2', deployed: template({ RepositoryB: repository('b') }), desired: template({ RepositoryB: repository('b') }) },
      ]),
    ).toEqual([]);
    expect(retainedMoves([{ stackSet: 'p', desired: template({ RepositoryA: repository('a') }) }, { stackSet: 'p-2', desired: template({ RepositoryB: repository('b') }) }])).toEqual([]);
  });
});
