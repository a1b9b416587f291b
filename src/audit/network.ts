/**
 * The CI network's VPC endpoints, for the auditor: each endpoint's service,
 * what goes through it, its policy statement by statement or the reason it
 * keeps AWS's default (src/services/vpc-endpoints.ts), and what the access
 * proof asked of it (src/audit/paths.ts throughEndpoints). Everything in it
 * comes from the compiled template and the proof, in template order.
 */
import type { Org } from '../org/model';
import { ciNetworkEndpoint } from '../services/vpc-endpoints';
import type { ResolvedStatement, VpcEndpoint } from './grants';
import type { EndpointCheck, NetworkAnalysis } from './paths';
import type { Block, Cell, Section } from './report';
import { describePrincipal, describePrincipals, mergeAccountRows, type TeamFold } from './scale';
import { foldByTeam, type Teams } from './teams';

const ENDPOINT_POLICIES = 'https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html';
/** With an STS endpoint in the VPC, only requests to the matching Regional endpoint use it. */
const STS_ENDPOINT = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sts_vpc_endpoint_create.html';
/** "Some of AWS SDKs and CLIs use the global service endpoint (https://sts.amazonaws.com) by default, while some use the Regional service endpoints." */
const STS_REGIONAL_SETTING = 'https://docs.aws.amazon.com/sdkref/latest/guide/feature-sts-regionalized-endpoints.html';

/** One line for the report's summary. */
export function networkSummary(network: NetworkAnalysis | undefined): string {
  if (!network) return 'No CI network (access.ci.network): no VPC endpoints, so no endpoint policies.';
  const withPolicy = network.endpoints.filter((e) => e.statements).length;
  const kept = network.endpoints.length - withPolicy;
  return (
    `${network.endpoints.length} VPC endpoints in the CI network, ${withPolicy} with a policy of their own${kept > 0 ? `, ${kept} with AWS's default (a reason recorded for each)` : ''}; ` +
    `${network.checks.length} requests asked of their policies, each let through or refused as it must be (under "The CI network's VPC endpoints").`
  );
}

export function networkSection(org: Org, network: NetworkAnalysis | undefined, teams: Teams | undefined, fold: TeamFold | undefined): Section {
  const section = (blocks: Block[]): Section => ({ id: 'network', title: "The CI network's VPC endpoints", level: 2, blocks });
  if (!network) {
    return section([{ kind: 'p', text: 'The org file gives the CI no network of xstack\'s (access.ci.network): xstack makes no VPC endpoints, so there are no endpoint policies to show.' }]);
  }
  const isolated = org.access.ci?.network?.nat === false;
  // A list naming each team's repositories or roles, written once for the teams that have it alike.
  const folded = (list: readonly string[]) => (teams ? foldByTeam(list, teams) : list);
  return section([
    {
      kind: 'p',
      text:
        (isolated
          ? `Every request the CI host sends to AWS from the CI network (stage ${network.stage}) goes through one of these endpoints: the network is isolated, with no route out. DNS queries through the VPC's own resolver still reach public names, a channel no endpoint policy sees ("Resolver performs recursive lookups against public name servers for all other domain names", https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/route53resolver/aws.sdk.kotlin.services.route53resolver/-route53-resolver-client; a Route 53 Resolver DNS Firewall rule group on the VPC narrows it). `
          : `Requests the CI host sends from the CI network (stage ${network.stage}) to the names these endpoints serve in ${org.region} (${network.endpoints.map((e) => e.service).join(', ')}) go through them, their private DNS names answering for those services. ` +
            `Requests to any other name, another Region's, the global STS endpoint (sts.amazonaws.com, which some SDKs and CLIs use by default, the legacy sts_regional_endpoints setting: ${STS_REGIONAL_SETTING}) or a FIPS or non-FIPS variant no endpoint here serves, resolve to public addresses (only the Regional STS name uses the STS endpoint: ${STS_ENDPOINT}), leave through the NAT gateway and pass no endpoint policy: ` +
            'with a NAT gateway these policies gate the calls the CI is configured to make (the role profiles xstack writes set sts_regional_endpoints = regional; the CI\'s other tools and SDKs may not), not what the host can reach; only an isolated network (access.ci.network.nat: false) makes them a boundary. ') +
        `An endpoint policy is one more gate beside the IAM policies above: a request passes only if a statement of the policy allows it. An endpoint without a policy keeps AWS's default, which lets every request through; each such endpoint says why (${ENDPOINT_POLICIES}). ` +
        'The access proof asks each endpoint what the CI sends through it, which must be let through, and, in an isolated network, what must be refused; a policy that answers otherwise fails the compile.',
    },
    {
      kind: 'table',
      head: ['endpoint', 'service', 'type', 'what goes through it', 'policy'],
      rows: network.endpoints.map((e) => [e.endpoint, e.service, e.type, ciNetworkEndpoint(e.endpoint)?.purpose ?? '—', policyCell(e)]),
    },
    { kind: 'p', text: 'What each policy lets through, statement by statement:' },
    {
      kind: 'table',
      head: ['endpoint', 'statement', 'effect', 'actions', 'resources', 'principals', 'conditions'],
      rows: network.endpoints.flatMap((e) =>
        (e.statements ?? []).map((s) => [e.endpoint, s.policy.split('/').pop()!, s.effect, s.actions.join(', '), folded(s.resources).join(', '), describePrincipals(org, s.principals), conditionsText(s, folded)]),
      ),
    },
    { kind: 'p', text: 'What the proof asked of the endpoints, one row per path and endpoint (a path\'s actions together):' },
    {
      kind: 'table',
      head: ['endpoint', 'request (path)', 'principal', 'resource', 'actions', 'must be', 'result', 'decided by'],
      rowClass: (row: Cell[]) => (row[6] === 'refused' ? 'refused' : undefined),
      rows: mergeAccountRows(checksByPath(network.checks), (checks) => {
        const [first] = checks;
        const answered = (c: EndpointCheck) => (c.passed !== c.refuse ? 'let through' : 'refused');
        const by = [...new Set(checks.map((c) => (c.by ? `${c.endpoint}/${c.by.policy.split('/').pop()}` : 'no statement of the policy')))].join('; ');
        return {
          cells: [first.endpoint, first.purpose, describePrincipal(first.request.principal), first.request.resource, checks.map((c) => c.request.action).join(', '), first.refuse ? 'refused' : 'let through', answered(first), by],
          account: first.request.resourceAccount,
          merge: false,
        };
      }, fold),
    },
  ]);
}

function policyCell(e: VpcEndpoint): string {
  const known = ciNetworkEndpoint(e.endpoint)?.policy;
  if (e.statements) return `its own: ${e.statements.length} statement${e.statements.length === 1 ? '' : 's'} (below)${known && 'doc' in known ? `; ${known.doc}` : ''}`;
  return `AWS's default, which lets every request through${known && 'none' in known ? `: ${known.none}` : ''}`;
}

/** A statement's conditions, one clause per key, each key's values folded by team like its resources. */
function conditionsText(s: ResolvedStatement, folded: (list: readonly string[]) => readonly string[]): string {
  const clauses: string[] = [];
  for (const op in s.conditions) for (const key in s.conditions[op]) clauses.push(`${op} ${key} = ${folded(s.conditions[op][key]).join(' | ')}`);
  return clauses.join('; ') || '—';
}

/** The checks of one path through one endpoint together (they are asked action by action, in order). */
function checksByPath(checks: readonly EndpointCheck[]): EndpointCheck[][] {
  const groups: EndpointCheck[][] = [];
  for (const c of checks) {
    const last = groups[groups.length - 1]?.[0];
    if (last && last.endpoint === c.endpoint && last.purpose === c.purpose && last.request.resource === c.request.resource && last.refuse === c.refuse) groups[groups.length - 1].push(c);
    else groups.push([c]);
  }
  return groups;
}
