/**
 * What a rollout reads from AWS Organizations (src/deploy/org-reads.ts), on a scripted client (no network). An account
 * is in one of five states, PENDING_ACTIVATION, ACTIVE, SUSPENDED, PENDING_CLOSURE and CLOSED
 * (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_account_state.html); deploy sends
 * the instances StackSets skipped as suspended again only once the account is ACTIVE (deployer.ts stillSuspended), and
 * destroy --delete-retained does not read in an account that is not (a closing account's resources are not available).
 */
import type { OrganizationsClient } from '@aws-sdk/client-organizations';
import { describe, expect, it } from 'vitest';
import { OrganizationReads } from '../src/deploy/org-reads';

/** Reads whose DescribeAccount answers from `accounts` (an Error is the refusal), and the account ids asked, in order. */
function reading(accounts: Record<string, object | Error>): { reads: OrganizationReads; asked: string[] } {
  const asked: string[] = [];
  const client = {
    send: async (command: { input: { AccountId?: string } }) => {
      const id = command.input.AccountId!;
      asked.push(id);
      const answer = accounts[id];
      if (answer instanceof Error) throw answer;
      return { Account: answer, $metadata: {} };
    },
  };
  return { reads: new OrganizationReads(() => client as unknown as OrganizationsClient), asked };
}

describe('OrganizationReads.active (DescribeAccount)', () => {
  it('is true for an ACTIVE account alone: one closing (PENDING_CLOSURE), closed or suspended is not, by State or, without it, Status; neither field, or a refused read, cannot tell; each account read once (review s41-mutations-3 OR1)', async () => {
    const refused = Object.assign(new Error('You don\'t have permissions to access this resource.'), { name: 'AccessDeniedException' });
    const accounts: Record<string, object | Error> = {
      '111111111111': { State: 'ACTIVE', Status: 'ACTIVE' },
      '222222222222': { State: 'PENDING_CLOSURE', Status: 'PENDING_CLOSURE' },
      '333333333333': { State: 'SUSPENDED', Status: 'SUSPENDED' },
      '444444444444': { State: 'CLOSED' },
      '555555555555': { Status: 'PENDING_CLOSURE' },
      '666666666666': { State: 'PENDING_ACTIVATION' },
      '777777777777': {},
      '888888888888': refused,
    };
    const { reads, asked } = reading(accounts);
    const ids = Object.keys(accounts);
    expect(await Promise.all(ids.map((id) => reads.active(id)))).toEqual([true, false, false, false, false, false, undefined, undefined]);
    expect(await reads.active('222222222222')).toBe(false);
    expect(asked).toEqual(ids);
  });

  it('asks no other account once Organizations refuses the caller or is not in use; an account it does not know is that account alone', async () => {
    const error = (name: string) => Object.assign(new Error(name), { name });
    for (const name of ['AccessDeniedException', 'AWSOrganizationsNotInUseException']) {
      const { reads, asked } = reading({ '111111111111': error(name), '222222222222': { State: 'SUSPENDED' } });
      expect(await reads.active('111111111111')).toBeUndefined();
      expect(await reads.active('222222222222'), name).toBeUndefined();
      expect(asked, name).toEqual(['111111111111']);
    }
    const { reads, asked } = reading({ '111111111111': error('AccountNotFoundException'), '222222222222': { State: 'SUSPENDED' } });
    expect(await reads.active('111111111111')).toBeUndefined();
    expect(await reads.active('222222222222')).toBe(false);
    expect(asked).toEqual(['111111111111', '222222222222']);
  });
});

describe('OrganizationReads.rootId (ListRoots)', () => {
  /** Reads whose ListRoots answers `pages` in turn, each page's NextToken the next one's index; the tokens sent, in order. */
  function roots(pages: Array<{ Roots: Array<{ Id: string }> }>): { reads: OrganizationReads; sent: Array<string | undefined> } {
    const sent: Array<string | undefined> = [];
    const client = {
      send: async (command: { input: { NextToken?: string } }) => {
        sent.push(command.input.NextToken);
        const at = command.input.NextToken === undefined ? 0 : Number(command.input.NextToken);
        return { ...pages[at], ...(at + 1 < pages.length ? { NextToken: String(at + 1) } : {}), $metadata: {} };
      },
    };
    return { reads: new OrganizationReads(() => client as unknown as OrganizationsClient), sent };
  }

  it('reads past a page that comes back empty with a NextToken, as the API reference says a List* call may answer (review s47-deploy-api 1); no root on any page is NO_ORGANIZATION_ROOT', async () => {
    const later = roots([{ Roots: [] }, { Roots: [] }, { Roots: [{ Id: 'r-ab12' }] }]);
    expect(await later.reads.rootId()).toBe('r-ab12');
    expect(later.sent).toEqual([undefined, '1', '2']);
    // Asked once a run.
    expect(await later.reads.rootId()).toBe('r-ab12');
    expect(later.sent).toHaveLength(3);
    await expect(roots([{ Roots: [] }, { Roots: [] }]).reads.rootId()).rejects.toMatchObject({ code: 'NO_ORGANIZATION_ROOT' });
  });
});
