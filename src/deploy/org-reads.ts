/**
 * What a rollout reads from AWS Organizations, each answer once a run: the
 * organization's root, where an account sits now, and whether it is active.
 * ListRoots and ListParents "can only [be called] from the management account
 * or a member account that is a delegated administrator"
 * (https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListRoots.html,
 * https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListParents.html):
 * the callers of SERVICE_MANAGED StackSets (callAs SELF, DELEGATED_ADMIN).
 */
import { DescribeAccountCommand, DescribeOrganizationCommand, ListParentsCommand, ListRootsCommand, type OrganizationsClient, type Parent } from '@aws-sdk/client-organizations';
import { errorName, XstackError } from '../errors';
import { madeOnce } from '../memo';


/** Answers that mean "this caller cannot tell", not a failure of the rollout. */
const CANNOT_TELL = new Set(['AccessDeniedException', 'AWSOrganizationsNotInUseException', 'AccountNotFoundException']);
/** Whether a read's error means "this caller cannot tell" (CANNOT_TELL). */
export const cannotTell = (error: unknown): boolean => CANNOT_TELL.has(errorName(error) ?? '');

/**
 * The organization's management account and its feature set (ALL, or CONSOLIDATED_BILLING, with which "you can't
 * create a StackSet with service-managed permissions",
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-activate-trusted-access.html), or why
 * this caller cannot tell.
 */
export type Management = { id: string; featureSet?: string } | { unknown: string };

/**
 * bootstrap's and deploy's words for an org file account that is the management account, where "CloudFormation
 * doesn't deploy stack instances", even in an OU of the organization
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeploymentTargets.html).
 */
export const managementAccountText = (file: string, account: { name: string; id: string }) =>
  `${file}: account ${account.name} (${account.id}) is the organization's management account; SERVICE_MANAGED StackSets never deploy there`;
export const MANAGEMENT_ACCOUNT_FIX =
  "move its role to a member account (leave the management account out of the org file's stages), or deploy the org SELF_MANAGED (stackSets.permissionModel: SELF_MANAGED), which reaches any account with the execution role";

/** Where an account sits now: its parents up to the root (nearest first), or gone from the organization. */
export type Placement = { ancestors: string[] } | { gone: true } | { unknown: string };

export class OrganizationReads {
  private root?: Promise<string>;
  private placements = new Map<string, Promise<Placement>>();
  private states = new Map<string, Promise<string | undefined>>();
  /** DescribeAccount refused this caller, or Organizations is not in use: `state` asks no more. */
  private callerCannotRead = false;
  /** The error of DescribeAccount's refusal of this caller (AccessDenied, say), not Organizations not in use: `refusedStates`. */
  private stateRefusal?: string;
  private management?: Promise<Management>;
  private client?: OrganizationsClient;

  /** `connect`: the client, made at the first read (a run that reads nothing here makes none). */
  constructor(private readonly connect: () => OrganizationsClient) {}

  private organizations(): OrganizationsClient {
    return (this.client ??= this.connect());
  }

  /**
   * The organization's root id (an organization has one: "Lists the roots that are defined in the current
   * organization"), read page by page: "These operations can occasionally return an empty set of results even when
   * there are more results available. The NextToken response parameter value is null only when there are no more
   * results to display" (https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListRoots.html).
   */
  rootId(): Promise<string> {
    this.root ??= (async () => {
      let token: string | undefined;
      do {
        const page = await this.organizations().send(new ListRootsCommand({ NextToken: token }));
        const id = page.Roots?.[0]?.Id;
        if (id) return id;
        token = page.NextToken;
      } while (token);
      throw new XstackError('NO_ORGANIZATION_ROOT', 'Organizations ListRoots listed no root: SERVICE_MANAGED StackSets create instances through the organization root');
    })();
    return this.root;
  }

  /**
   * DescribeOrganization's MasterAccountId, read once. "This operation can be called from any account in the
   * organization" (https://docs.aws.amazon.com/organizations/latest/APIReference/API_DescribeOrganization.html);
   * refused (AccessDenied) or no organization: unknown.
   */
  managementAccount(): Promise<Management> {
    this.management ??= this.organizations()
      .send(new DescribeOrganizationCommand({}))
      .then(
        (out): Management => {
          const id = out.Organization?.MasterAccountId;
          const featureSet = out.Organization?.FeatureSet;
          return id ? { id, ...(featureSet ? { featureSet } : {}) } : { unknown: 'Organizations DescribeOrganization named no management account' };
        },
        (error: unknown): Management => {
          if (cannotTell(error)) return { unknown: `${errorName(error)}: ${(error as Error).message}` };
          throw error;
        },
      );
    return this.management;
  }

  /**
   * The account's parents, nearest first, up to the root. ChildNotFoundException ("We can't find an organizational
   * unit (OU) or Amazon Web Services account with the ChildId that you specified") means it is no longer in the
   * organization. "In the current release, a child can have only a single parent"; "always check the NextToken
   * response parameter value, even if you receive an empty result set" (API_ListParents.html).
   */
  placement(account: string): Promise<Placement> {
    let known = this.placements.get(account);
    if (!known) {
      known = this.readPlacement(account);
      this.placements.set(account, known);
    }
    return known;
  }

  private async readPlacement(account: string): Promise<Placement> {
    const ancestors: string[] = [];
    try {
      for (let child = account; ; ) {
        // An OU's parent is asked once a run, however many accounts sit under it (1,000 accounts in a few OUs).
        const parent = await (child === account ? this.parentOf(child) : this.parentOfOu(child));
        if (!parent?.Id) return { unknown: `Organizations listed no parent of ${child}` };
        ancestors.push(parent.Id);
        if (parent.Type === 'ROOT') return { ancestors };
        child = parent.Id;
      }
    } catch (error) {
      if (errorName(error) === 'ChildNotFoundException') return { gone: true };
      if (cannotTell(error)) return { unknown: `${errorName(error)}: ${(error as Error).message}` };
      throw error;
    }
  }

  /**
   * Whether Organizations reports the account ACTIVE (true), in another state such as SUSPENDED or PENDING_CLOSURE
   * (false), or cannot tell (undefined: this caller may not read Organizations, as a SELF_MANAGED administrator
   * outside the organization's management and delegated accounts, or the account is not in its organization).
   * DescribeAccount's State ("Each state represents a specific phase in the account lifecycle"); Status, which
   * "will be retired on September 9, 2026", only where an endpoint gives no State.
   * https://docs.aws.amazon.com/organizations/latest/APIReference/API_DescribeAccount.html
   */
  active(account: string): Promise<boolean | undefined> {
    // Neither field (a partial answer): no telling, not "suspended", or its instances would never be sent again.
    return this.state(account).then((state) => (state === undefined ? undefined : state === 'ACTIVE'));
  }

  /**
   * The account's State as DescribeAccount gives it (Status where it gives no State), read once; undefined where
   * `active` cannot tell. Once Organizations refuses this caller (AccessDenied) or is not in use, no other account is
   * asked (a destroy reads every account's): a caller refused for some accounts only (a policy naming accounts) then
   * reads the rest as "cannot tell" too, which costs only the plain delete StackSets skips before RetainStacks.
   */
  state(account: string): Promise<string | undefined> {
    let known = this.states.get(account);
    if (!known) {
      known = this.callerCannotRead
        ? Promise.resolve(undefined)
        : this.organizations()
            .send(new DescribeAccountCommand({ AccountId: account }))
            .then(
              (out) => out.Account?.State ?? out.Account?.Status,
              (error: unknown) => {
                if (!cannotTell(error)) throw error;
                const name = errorName(error);
                if (name !== 'AccountNotFoundException') {
                  this.callerCannotRead = true;
                  // Not in use: no organization whose accounts could be told of (nothing to note).
                  if (name !== 'AWSOrganizationsNotInUseException') this.stateRefusal ??= name;
                }
                return undefined;
              },
            );
      this.states.set(account, known);
    }
    return known;
  }

  /**
   * Why `state` could not tell of accounts in an organization: the name of DescribeAccount's refusal of this caller,
   * once one was asked (undefined when every answer came, or Organizations is not in use: no organization to tell of).
   */
  refusedStates(): string | undefined {
    return this.stateRefusal;
  }

  /** An OU's parent, asked once a run (parentOf). */
  private readonly parentOfOu = madeOnce((ou: string) => this.parentOf(ou));

  private async parentOf(child: string): Promise<Parent | undefined> {
    let token: string | undefined;
    do {
      const page = await this.organizations().send(new ListParentsCommand({ ChildId: child, NextToken: token }));
      if (page.Parents?.[0]) return page.Parents[0];
      token = page.NextToken;
    } while (token);
    return undefined;
  }
}
