/**
 * The execution role's managed policies counted from sizes (`packedSizes`, what the compile's quota check and its
 * choice of exact or shaped names read) against the policies bootstrap writes (`packPolicies` on the account's
 * resolved document): the same packs, the same characters, the same largest statement, the same error, in any
 * account; an account id of digits is measured once per length, any other id as itself.
 */
import { describe, expect, it } from 'vitest';
import { packedSizes, packPolicies, policyDocument, resolvePolicy, type ExecutionStatement, type PolicyContext } from '../src/deploy/execution-policy';
import { policyChars } from '../src/limits';

const P = '${AWS::Partition}';
const A = '${AWS::AccountId}';
const R = '${AWS::Region}';

/** A small deterministic generator (xorshift), so a failure names its seed. */
function random(seed: number): (n: number) => number {
  let x = seed || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

/** Statements of every size packing meets: small ones, ones that start a pack of their own, ones split into parts. */
function statementsOf(seed: number): ExecutionStatement[] {
  const pick = random(seed);
  return Array.from({ length: 3 + pick(12) }, (_, i) => {
    const size = [1, 5, 40, 120, 400][pick(5)];
    return {
      Sid: `Statement${i}`,
      Effect: pick(4) === 0 ? 'Deny' : 'Allow',
      Action: Array.from({ length: 1 + pick(30) }, (_, a) => `codecommit:Action${a}`),
      Resource: Array.from({ length: size }, (_, r) => [`arn:${P}:codecommit:${R}:${A}:repo-${seed}-${i}-${r}`, `arn:${P}:iam::${A}:role/x${'y'.repeat(pick(60))}`, `arn:${P}:s3:::bucket-${r}/*`][pick(3)]),
      ...(pick(3) === 0 ? { reason: 'kept out of the document' } : {}),
    };
  });
}

/** What bootstrap writes in `at`, measured. */
function written(statements: ExecutionStatement[], at: PolicyContext) {
  const resolved = resolvePolicy(statements, at).Statement;
  const sized = resolved.map((s) => ({ Sid: s.Sid, resources: s.Resource.length, chars: policyChars(s) }));
  return { packs: packPolicies(resolved).map((pack) => policyChars(policyDocument(pack))), largest: sized.reduce((a, b) => (b.chars > a.chars ? b : a)) };
}

const contexts: PolicyContext[] = [
  { partition: 'aws', region: 'eu-west-1', account: '111111111111' },
  // Another id of the same length: measured from the first one's sizes.
  { partition: 'aws', region: 'eu-west-1', account: '999999999999' },
  // Ids of other lengths, and one that is not digits (JSON escapes its quote): each measured as its own.
  { partition: 'aws', region: 'eu-west-1', account: '0' },
  { partition: 'aws', region: 'eu-west-1', account: '12345678901234567890' },
  { partition: 'aws', region: 'eu-west-1', account: 'a"b' },
  { partition: 'aws-us-gov', region: 'us-gov-west-1', account: '111111111111' },
];

describe('packedSizes', () => {
  for (let seed = 1; seed <= 40; seed++) {
    it(`seed ${seed}: the packs bootstrap writes, in every account`, () => {
      const statements = statementsOf(seed);
      // Several policies of the same statements in turn, as the compile asks them: each account's answer its own.
      for (const at of [...contexts, ...contexts]) expect(packedSizes(statements, at)).toEqual(written(statements, at));
      expect(packedSizes(statements, contexts[0]).packs.length).toBeGreaterThan(0);
    });
  }

  it('counts more managed policies where a longer account id makes the names longer', () => {
    const statements: ExecutionStatement[] = [{ Sid: 'Named', Effect: 'Allow', Action: ['iam:GetRole'], Resource: Array.from({ length: 400 }, (_, i) => `arn:${P}:iam::${A}:role/r${i}`) }];
    const short = packedSizes(statements, contexts[2]);
    const long = packedSizes(statements, contexts[3]);
    expect(long.packs.length).toBeGreaterThan(short.packs.length);
    expect(long).toEqual(written(statements, contexts[3]));
  });

  it('a statement whose actions and one resource fit no managed policy is the same error, naming the resolved resource', () => {
    const statements: ExecutionStatement[] = [{ Sid: 'TooManyActions', Effect: 'Allow', Action: Array.from({ length: 400 }, (_, i) => `codecommit:Action${i}`), Resource: [`arn:${P}:s3:::bucket-${A}/*`] }];
    const at = contexts[0];
    expect(() => written(statements, at)).toThrow(/statement TooManyActions: its actions and one resource \(arn:aws:s3:::bucket-111111111111\/\*\) take more than the 6144 characters/);
    expect(() => packedSizes(statements, at)).toThrow(/statement TooManyActions: its actions and one resource \(arn:aws:s3:::bucket-111111111111\/\*\) take more than the 6144 characters/);
  });
});
