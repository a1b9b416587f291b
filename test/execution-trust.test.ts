import { describe, expect, it } from 'vitest';
import { compileOrg } from '../src/compile';
import { administrationRoleAdvice, executionRoleAdvice, unreachedThroughRoles, untrustedAccount, withExecutionRoleAdvice } from '../src/deploy/execution-trust';
import { parseOrg } from '../src/org/load';
import { generateOrgYaml } from '../bench/generate-org.mjs';

const selfManaged = compileOrg(parseOrg(generateOrgYaml(2), 'org.yaml'));
const serviceManaged = { ...selfManaged, org: { ...selfManaged.org, stackSets: { ...selfManaged.org.stackSets, permissionModel: 'SERVICE_MANAGED' as const } } };
const REASON = "Account 111111111111 should have 'AWSCloudFormationStackSetExecutionRole' role with trust relationship to Role 'AWSCloudFormationStackSetAdministrationRole'.";

describe('an account StackSets cannot reach through its execution role', () => {
  it.each([
    ['an operation result', `account 111111111111 us-east-1: FAILED: ${REASON}`],
    ['an instance left OUTDATED', `account 111111111111 us-east-1: OUTDATED (FAILED): ${REASON}`],
    ['custom role names (terraform-provider-aws#15165)', "Account 111111111111 should have 'tf-acc-test-7055-Execution' role with trust relationship to Role 'tf-acc-test-7055-Administration'."],
    [
      'an administration role IAM has not propagated yet (cdklabs/cdk-stacksets#61)',
      'account 111111111111 us-east-1: FAILED: User: arn:aws:sts::999999999999:assumed-role/AWSCloudFormationStackSetAdministrationRole/1234 is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111111111111:role/AWSCloudFormationStackSetExecutionRole',
    ],
  ])('is recognised in %s', (_, line) => {
    expect(untrustedAccount(line)).toBe('111111111111');
    expect(withExecutionRoleAdvice(selfManaged, 'stale', line)).toMatch(/'?: the last xstack bootstrap was made for another compile of org\.yaml .*run 'xstack bootstrap org\.yaml', which makes the administration role AWSCloudFormationStackSetAdministrationRole and, in account 111111111111, the execution role that trusts it, then deploy again$/);
  });

  it("a failure naming the administration role itself (by ARN or quoted) says bootstrap makes it, and that a role just made may not have propagated; not for SERVICE_MANAGED, nor a line naming another role (review s61-deployer m1: no AWS page quotes StackSets' reason)", () => {
    // A made-up wording: the advice rests on the role's name in the line, not on a sentence AWS may change.
    const byArn = 'operation 3f2a: FAILED: CloudFormation could not assume arn:aws:iam::999999999999:role/AWSCloudFormationStackSetAdministrationRole.';
    const quoted = "operation 3f2a: FAILED: Role 'AWSCloudFormationStackSetAdministrationRole' is invalid or cannot be assumed";
    for (const line of [byArn, quoted]) {
      expect(untrustedAccount(line)).toBeUndefined();
      expect(withExecutionRoleAdvice(selfManaged, 'current', line)).toBe(
        `${line.replace(/\.$/, '')}: xstack bootstrap set up this compile's roles, so IAM has most likely not propagated the administration role yet (IAM changes take a moment to propagate (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency)): deploy again in a minute; if it fails again, run 'xstack bootstrap org.yaml', which makes the administration role AWSCloudFormationStackSetAdministrationRole and its trust of CloudFormation, then deploy again`,
      );
      expect(administrationRoleAdvice(selfManaged, 'stale', line)).toMatch(/^run 'xstack bootstrap org\.yaml', which makes the administration role AWSCloudFormationStackSetAdministrationRole .*; if bootstrap ran just now, IAM changes take a moment to propagate .*: deploy again in a minute$/);
    }
    expect(withExecutionRoleAdvice(serviceManaged, 'not-applicable', byArn)).toBe(byArn);
    // Deploy reads no stack for such a line (deployer.ts, an instance's health and an operation's failures), whose note
    // would take the advice's place (review s61-second-read m3); nor for the execution role's; it does for any other.
    for (const line of [byArn, quoted, REASON]) expect(unreachedThroughRoles(selfManaged, line), line).toBe(true);
    expect(unreachedThroughRoles(selfManaged, 'account 111111111111 us-east-1: FAILED: ResourceStatusReason:Invalid principal in policy')).toBe(false);
    expect(unreachedThroughRoles(serviceManaged, byArn)).toBe(false);
    // A role whose name only begins as the administration role's is another role.
    const other = 'operation 3f2a: FAILED: CloudFormation could not assume arn:aws:iam::999999999999:role/AWSCloudFormationStackSetAdministrationRoleOld';
    expect(withExecutionRoleAdvice(selfManaged, 'current', other)).toBe(other);
  });

  it('other failures are left as they are', () => {
    const line = 'account 111111111111 us-east-1: FAILED: ResourceStatusReason:Invalid principal in policy';
    expect(untrustedAccount(line)).toBeUndefined();
    expect(withExecutionRoleAdvice(selfManaged, 'stale', line)).toBe(line);
  });

  it('says bootstrap or propagation as the bootstrap state tells, and nothing for SERVICE_MANAGED roles, which are AWS\'s', () => {
    expect(executionRoleAdvice(selfManaged, 'current', '111111111111')).toMatch(/^xstack bootstrap set up this compile's roles, so IAM has most likely not propagated them yet .*deploy again in a minute; if it fails again, run 'xstack bootstrap org\.yaml'/);
    expect(executionRoleAdvice(selfManaged, undefined, '111111111111')).toMatch(/^if this account was added since the last xstack bootstrap, it has no execution role yet: run 'xstack bootstrap org\.yaml'.*; if bootstrap ran just now, IAM changes take a moment to propagate/);
    expect(executionRoleAdvice(serviceManaged, 'not-applicable', '111111111111')).toBeUndefined();
  });
});
