/**
 * Advice added to an instance's failure reason where AWS's text does not say what to do.
 *
 * CodeCommit and new customers: "AWS CodeCommit is no longer available to new customers. Existing customers of AWS
 * CodeCommit can continue to use the service as normal" (the banner on AWS's CodeCommit pages, e.g.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-codecommit-repository.html); an account
 * or Organization that has no repository is refused CreateRepository with "CreateRepository request is not allowed
 * because there is no existing repository in this AWS account or AWS Organization" (OperationNotAllowedException,
 * as reported from a StackSet in aws-samples/aws-security-reference-architecture-examples#310). No later run gets past
 * it: the repositories must live where CodeCommit is open to the Organization (review s32-walkthrough M1).
 */
const CODECOMMIT_CLOSED = /CreateRepository request is not allowed because there is no existing repository/i;

export function codeCommitAdvice(line: string): string {
  if (!CODECOMMIT_CLOSED.test(line)) return line;
  return (
    `${line.replace(/\.$/, '')}: CodeCommit takes no first repository in an account or Organization that has none ("no longer available to new customers"); ` +
    `no later deploy gets past this: the source accounts must be ones where CodeCommit is open to you (an account or Organization that already has a repository); ` +
    `README "Before the first deployment"`
  );
}
