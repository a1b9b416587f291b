/**
 * Before plan and deploy: does the org's Region offer every VPC endpoint
 * service the compiled templates name, in the zones their subnets name, and
 * does each service that gets an endpoint policy accept one? AWS answers it
 * per Region with EC2's DescribeVpcEndpointServices; CloudFormation would
 * otherwise find out halfway through the rollout, with the CI network's stack
 * failed and rolled back:
 *
 * - a policy on an endpoint whose service does not support one is refused
 *   ("Service com.amazonaws.eu-west-1.eks only supports the full-access
 *   endpoint policy", awslabs/landing-zone-accelerator-on-aws#224); "Not all
 *   AWS services support endpoint policies"
 *   (https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html),
 *   "Not all Amazon VPC endpoints in AWS GovCloud (US) support Amazon VPC
 *   endpoint policies" (https://docs.aws.amazon.com/govcloud-us/latest/UserGuide/govcloud-vpc.html);
 *   ServiceDetail.VpcEndpointPolicySupported says which do
 *   (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ServiceDetail.html);
 * - an endpoint for a service the Region does not offer cannot be created, and
 *   an interface endpoint's subnet must be in a zone the service is offered in
 *   ("does not support the Availability Zone of the subnet",
 *   https://repost.aws/knowledge-center/interface-endpoint-availability-zone).
 *
 * What is checked comes from the compiled templates themselves (every
 * AWS::EC2::VPCEndpoint, its ServiceName, PolicyDocument and subnets), so it
 * is what deploy would create, NAT or isolated, FIPS or not; no second list.
 * A failure to read is a note, never a refusal: xstack does not block on its
 * own inability to check (README, "Developer and CI access", has the command
 * that checks by hand).
 */
import { DescribeVpcEndpointServicesCommand, type EC2Client, type ServiceDetail } from '@aws-sdk/client-ec2';
import { renderTemplate } from '../cfn/template';
import { templatePath, type CompiledOrg } from '../compile';
import { XstackError } from '../errors';
import { ISOLATED_ENDPOINTS } from '../services/vpc-endpoints';
import type { Aws } from './clients';

/** One VPC endpoint a compiled template creates. */
export interface EndpointUse {
  /** The stage (StackSet) and its template file in dist/. */
  stage: string;
  template: string;
  logicalId: string;
  /** The full service name in the org's Region, `com.amazonaws.<region>.<service>`. */
  serviceName: string;
  type: 'Interface' | 'Gateway';
  /** Whether the template gives it a PolicyDocument. */
  policy: boolean;
  /** Its subnets' zones by AZ ID, where the template names them (`availabilityZoneIds`); else unknown. */
  zoneIds?: string[];
}

export interface EndpointServiceCheck {
  /** What CloudFormation would refuse: deploy stops before any operation, plan shows each. */
  problems: string[];
  /** What could not be checked. */
  notes: string[];
}

type Resource = { Type?: string; Properties?: Record<string, unknown> };

/** A ServiceName as the stack resolves it in the org's Region: a string, or Fn::Sub of `${AWS::Region}`. */
function resolvedServiceName(value: unknown, region: string): string | undefined {
  const text = typeof value === 'string' ? value : (value as { 'Fn::Sub'?: unknown } | undefined)?.['Fn::Sub'];
  if (typeof text !== 'string') return undefined;
  const resolved = text.replaceAll('${AWS::Region}', region);
  return resolved.includes('${') ? undefined : resolved;
}

/** The AZ IDs of an endpoint's subnets (`{ Ref: subnet }` → its AvailabilityZoneId), or undefined when any is unknown. */
function subnetZoneIds(subnetIds: unknown, resources: Record<string, Resource>): string[] | undefined {
  if (!Array.isArray(subnetIds) || subnetIds.length === 0) return undefined;
  const zones = subnetIds.map((s) => {
    const ref = (s as { Ref?: unknown }).Ref;
    const zone = typeof ref === 'string' ? resources[ref]?.Properties?.AvailabilityZoneId : undefined;
    return typeof zone === 'string' ? zone : undefined;
  });
  return zones.every((z): z is string => z !== undefined) ? zones : undefined;
}

/** Every VPC endpoint the compiled templates create, with its service name resolved in the org's Region. Pure. */
export function endpointsOf(compiled: CompiledOrg): EndpointUse[] {
  const uses: EndpointUse[] = [];
  for (const stage of compiled.stages) {
    const resources = renderTemplate(stage.definition).Resources as Record<string, Resource>;
    for (const [logicalId, resource] of Object.entries(resources)) {
      if (resource.Type !== 'AWS::EC2::VPCEndpoint') continue;
      const p = resource.Properties ?? {};
      const serviceName = resolvedServiceName(p.ServiceName, compiled.org.region);
      if (!serviceName) throw new XstackError('ENDPOINT_SERVICE_NAME', `${templatePath(stage)} ${logicalId}: ServiceName ${JSON.stringify(p.ServiceName)} is not a name xstack can resolve in ${compiled.org.region}; expected a string or Fn::Sub of \${AWS::Region} only`);
      const zoneIds = subnetZoneIds(p.SubnetIds, resources);
      uses.push({
        stage: stage.id,
        template: templatePath(stage),
        logicalId,
        serviceName,
        // Unset, CloudFormation makes a Gateway endpoint (VpcEndpointType, "Default: Gateway",
        // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-vpcendpoint.html), as grants.ts reads it.
        type: (p.VpcEndpointType ?? 'Gateway') === 'Gateway' ? 'Gateway' : 'Interface',
        policy: p.PolicyDocument !== undefined,
        ...(zoneIds ? { zoneIds } : {}),
      });
    }
  }
  return uses;
}

/** A service of the Region by type and name: S3 has a Gateway and an Interface service of one name. */
const serviceKey = (name: string, type: string) => `${type} ${name}`;

/**
 * One service's details in the Region, read with the deployer's own credentials, by type: S3 is listed twice under
 * one name, a Gateway and an Interface service (ServiceDetail.ServiceType). One call per name: a name in ServiceNames
 * that the Region does not offer fails the whole call with InvalidServiceName ("The Vpc Endpoint Service '…' does not
 * exist", aws/aws-cdk#29524; cloud-custodian/cloud-custodian#10741 falls back to one call per service for it), which
 * is how a missing service is told, by the error's code. (The `service-name` filter would leave it out instead, but
 * moto 5.2's server fails on that filter.) Paginated by NextToken (the SDK has no paginator for it).
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcEndpointServices.html
 */
async function describeService(ec2: EC2Client, name: string): Promise<Map<string, ServiceDetail>> {
  const found = new Map<string, ServiceDetail>();
  let token: string | undefined;
  try {
    do {
      const page = await ec2.send(new DescribeVpcEndpointServicesCommand({ ServiceNames: [name], NextToken: token }));
      for (const detail of page.ServiceDetails ?? []) {
        for (const { ServiceType: type } of detail.ServiceType ?? []) if (detail.ServiceName === name && type) found.set(serviceKey(name, type), detail);
      }
      token = page.NextToken;
    } while (token);
  } catch (error) {
    if ((error as { name?: string }).name !== 'InvalidServiceName') throw error;
  }
  return found;
}

/** Every service's details in the Region, by type and name (none for a service it does not offer). */
async function describeServices(aws: Aws, region: string, names: readonly string[]): Promise<Map<string, ServiceDetail>> {
  const ec2 = aws.ec2(undefined, region);
  const found = await Promise.all(names.map((name) => describeService(ec2, name)));
  return new Map(found.flatMap((m) => [...m]));
}

/** Where an endpoint is, in a problem's words. */
const where = (use: EndpointUse) => `${use.logicalId} (${use.template}, StackSet stage ${use.stage})`;

const isIsolated = (use: EndpointUse) => ISOLATED_ENDPOINTS.some((e) => e.id === use.logicalId);

/** What removes an endpoint: the org settings that make it (templates/ci-network.ts), or another Region. */
function wayOut(use: EndpointUse, file: string, otherRegion: string): string {
  return isIsolated(use)
    ? `it is one of the isolated CI network's endpoints: set access.ci.network.nat: true in ${file} (a NAT gateway instead of them), leave access.ci.network out, or use ${otherRegion}`
    : `access.ci.network makes it: leave access.ci.network out of ${file}, or use ${otherRegion}`;
}

/** Where the policy comes from in xstack's code, to leave it off there. */
const policySource = (use: EndpointUse) =>
  isIsolated(use) ? 'src/services/vpc-endpoints.ts gives it one; `policy: { none: … }` there leaves it AWS\'s default' : 'templates/ci-network.ts gives it one';

/** What CloudFormation would refuse of one endpoint, given the Region's details of its service of that type (undefined: not offered). Pure. */
export function endpointProblems(use: EndpointUse, detail: ServiceDetail | undefined, region: string, file: string): string[] {
  if (!detail) {
    return [`${where(use)}: ${region} offers no ${use.type} VPC endpoint service ${use.serviceName} (DescribeVpcEndpointServices does not list it), so creating the endpoint would fail; ${wayOut(use, file, 'a Region that offers it')}`];
  }
  const problems: string[] = [];
  if (use.policy && detail.VpcEndpointPolicySupported === false) {
    problems.push(
      `${where(use)}: ${use.serviceName} does not support VPC endpoint policies in ${region} (VpcEndpointPolicySupported: false) and xstack gives this endpoint one, which AWS refuses ("only supports the full-access endpoint policy"); ${wayOut(use, file, 'a Region where it takes one')} (${policySource(use)})`,
    );
  }
  // Zones by AZ ID only: the call is made in the administrator account, where zone names stand for other zones than
  // in the CI account; AvailabilityZoneIds are the same in every account (absent from older answers: not judged).
  // https://docs.aws.amazon.com/global-infrastructure/latest/regions/az-ids.html
  const offered = detail.AvailabilityZoneIds;
  const missing = use.type === 'Interface' && use.zoneIds && offered ? use.zoneIds.filter((z) => !offered.includes(z)) : [];
  if (missing.length > 0) {
    problems.push(`${where(use)}: ${use.serviceName} is not offered in ${missing.join(', ')} (it is in ${offered!.join(', ')}), where its subnets are; set access.ci.network.availabilityZoneIds in ${file} to zones that offer every endpoint service`);
  }
  return problems;
}

/**
 * An endpoint xstack leaves at AWS's default full-access policy because no page says its service takes one
 * (src/services/vpc-endpoints.ts `policy: { none }`: ssmmessages), where the Region says it does
 * (VpcEndpointPolicySupported: true): a note, so that the default is a choice made with the Region's answer (review
 * s30-ci V1). Pure.
 */
export function endpointNotes(use: EndpointUse, detail: ServiceDetail | undefined, region: string): string[] {
  if (use.policy || !detail || detail.VpcEndpointPolicySupported !== true) return [];
  const declared = ISOLATED_ENDPOINTS.find((e) => e.id === use.logicalId);
  if (!declared || !('none' in declared.policy)) return [];
  return [`${where(use)}: ${region} says ${use.serviceName} takes a VPC endpoint policy (VpcEndpointPolicySupported: true), and xstack leaves AWS's default full-access one (${declared.policy.none}); a policy of its own can be given in src/services/vpc-endpoints.ts`];
}

/** The note for a read that failed: what was not checked, why, and how to check by hand. */
function unreadNote(error: unknown, region: string): string {
  const { name, message } = error as { name?: string; message?: string };
  // EC2 refuses with UnauthorizedOperation (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
  const denied = name === 'UnauthorizedOperation' || name === 'AccessDenied' || name === 'AccessDeniedException';
  const why = denied ? ' (the credentials need ec2:DescribeVpcEndpointServices)' : '';
  return `could not check the VPC endpoint services of ${region}: ${name ?? 'Error'}: ${message ?? String(error)}${why}; endpoint policies and zones are not checked: check them by hand with 'aws ec2 describe-vpc-endpoint-services' (README, "Developer and CI access")`;
}

/** The check, against AWS: no call at all for an org whose templates create no VPC endpoint. */
export async function checkEndpointServices(compiled: CompiledOrg, aws: Aws): Promise<EndpointServiceCheck> {
  const uses = endpointsOf(compiled);
  if (uses.length === 0) return { problems: [], notes: [] };
  const { region, file } = compiled.org;
  let offered: Map<string, ServiceDetail>;
  try {
    offered = await describeServices(aws, region, [...new Set(uses.map((u) => u.serviceName))].sort());
  } catch (error) {
    // No credentials at all is the run's error, not this check's: said once, as the command says it (review s30-cli m9).
    if ((error as { name?: string }).name === 'CredentialsProviderError') throw error;
    return { problems: [], notes: [unreadNote(error, region)] };
  }
  const detailOf = (u: EndpointUse) => offered.get(serviceKey(u.serviceName, u.type));
  return { problems: uses.flatMap((u) => endpointProblems(u, detailOf(u), region, file)), notes: uses.flatMap((u) => endpointNotes(u, detailOf(u), region)) };
}

/** deploy's refusal, before any operation: every problem, and that nothing was changed. */
export function refuseEndpointServices(check: EndpointServiceCheck): void {
  if (check.problems.length === 0) return;
  throw new XstackError('ENDPOINT_SERVICES', `nothing was changed: the CI network's VPC endpoints would fail to create:\n${check.problems.map((p) => `  ${p}`).join('\n')}`);
}
