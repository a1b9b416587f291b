/**
 * The classes of teams the tests of tied tokens (src/audit/symbolic.ts) prove with: team A's class, whose members
 * are tuples (its pipeline account id as the class's own token, its source account's id, its key, the key's
 * logical-id form), and the tokens of a second class B (its pipeline account, its key). Shared by
 * symbolic-tied.test.ts and symbolic-fuzz-tied.test.ts.
 */
import { logicalId } from '../../src/cfn/resources';
import { nameTokenFor, tokenFor, type ProofClass } from '../../src/audit/symbolic';

export const A = tokenFor(0);
export const AS = tokenFor(1);
export const AK = nameTokenFor(0);
export const AL = nameTokenFor(1);
export const B = tokenFor(2);
export const BK = nameTokenFor(2);

export interface Team {
  account: string;
  source: string;
  key: string;
}

/** Team A's class of `teams`: each member its pipeline account, tied to its source account, key and logical id. */
export const teamClass = (teams: readonly Team[]): ProofClass => ({
  token: A,
  members: teams.map((t) => t.account),
  tied: [
    { token: AS, kind: 'account', values: teams.map((t) => t.source) },
    { token: AK, kind: 'key', values: teams.map((t) => t.key) },
    { token: AL, kind: 'logical', values: teams.map((t) => logicalId(t.key)) },
  ],
});
