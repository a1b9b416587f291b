/**
 * The dead-letter queue of an account's event rules, and the DeadLetterConfig their targets name it by: one standard
 * SQS queue in each account that has rules (a source account's forwarding rules, a pipeline account's trigger rules),
 * not one a rule. Without it a delivery EventBridge cannot make (a permission missing, a bus policy not yet deployed)
 * is dropped: "for errors that result from missing permissions to a target, or if a target resource that no longer
 * exists, no retry attempts will happen … EventBridge sends these events directly to the target DLQ, if you have
 * specified one" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html).
 *
 * - Where: "The Amazon SQS queue you use must be in the same Region in which you create the rule" (eb-rule-dlq.html,
 *   "Considerations"); the queue is in the rules' own account as well, so no other account is ever named.
 * - Standard, not FIFO: "Only standard queues are supported" (same page).
 * - Who may send: EventBridge alone (events.amazonaws.com, sqs:SendMessage), for this account's rules of one kind
 *   only (aws:SourceArn, as AWS's "Target dead-letter queue permissions example" writes it, and nothing else: no page
 *   says EventBridge sends aws:SourceAccount with a dead letter, and a condition on a key it does not send would drop
 *   every dead letter unseen; the rule's ARN names the account already),
 *   in the queue's policy: a target set through the API (CloudFormation) gets no policy made for it
 *   (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html#eb-dlq-perms).
 * - Encryption: SSE-SQS (`SqsManagedSseEnabled`), keys SQS owns. A KMS-encrypted queue would need a customer managed
 *   key whose policy lets the sending service use it ("Use a customer managed key … allow the AWS service to have the
 *   kms:GenerateDataKey* and kms:Decrypt permissions",
 *   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html#compatibility-with-aws-services;
 *   the AWS managed key aws/sqs cannot be given that): a key per account, its policy and its administrators, for a
 *   queue that holds failed event envelopes, no source code. SSE-SQS encrypts at rest and needs nothing of the sender
 *   (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-server-side-encryption.html).
 * - Retention: 14 days, SQS's maximum (MessageRetentionPeriod 60 to 1,209,600 seconds,
 *   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html), so that a
 *   refused push is still there after a long weekend.
 * - Deleted with its stack (DeletionPolicy and UpdateReplacePolicy Delete, written out): the templates retain only what
 *   holds the org's history (repositories, artifact keys and buckets, src/cfn/extensions.ts `retain`). A dead letter
 *   is a push that did not start a pipeline, worth nothing once the rules and pipelines are gone, and a retained queue
 *   would stay under its fixed name, in the way of the next deploy, as retained buckets are.
 * - No RetryPolicy on the targets: EventBridge's default (24 hours, 185 attempts,
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html) already retries what can be
 *   retried (throttling, a target not reachable yet); the errors a retry cannot mend go to the queue at once.
 */
import Queue from 'cloudform-types/types/sqs/queue';
import QueuePolicy from 'cloudform-types/types/sqs/queuePolicy';
import { EVENTS_DEAD_LETTER } from '../iam/grants';
import { policyDocument, statement } from '../iam/policy';
import type { ReplacePolicy } from './extensions';
import { arn, ref } from './intrinsics';
import { suppressChecks } from './resources';

export const DEAD_LETTER_QUEUE_ID = 'EventsDeadLetterQueue';
export const DEAD_LETTER_QUEUE_POLICY_ID = 'EventsDeadLetterQueuePolicy';
/** SQS's maximum retention, 14 days. */
export const DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 60 * 60;
export const EVENTS_SERVICE = 'events.amazonaws.com';

/**
 * This account's queue by its name (naming.ts: forwardingDeadLetterQueue in a source account,
 * triggerDeadLetterQueue in a pipeline account): the rules that name it are in other stacks (source-events,
 * pipelines), and a name is all they can share without a parameter. Partition and Region from the pseudo parameters.
 */
export const deadLetterQueueArn = (queueName: string) => arn(`sqs:\${AWS::Region}:\${AWS::AccountId}:${queueName}`);

/** A rule target's DeadLetterConfig: the queue of the rule's own account. */
export const deadLetterConfig = (queueName: string) => ({ Arn: deadLetterQueueArn(queueName) });

export interface DeadLetterRules {
  /** The queue's name (naming.ts). */
  queueName: string;
  /** The Sid of the statement that admits them (e.g. `ForwardingRulesDeadLetters`). */
  sid: string;
  /**
   * The rules of this account that may send, as the name pattern xstack gives them (naming.ts): a pattern rather than
   * each rule's ARN, so that the queue policy neither grows with the rules (SQS takes 8,192 bytes a policy,
   * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-policies.html) nor changes, in
   * every account, each time a pipeline or a tracked branch is added (an operation of the queue's StackSet).
   */
  namePattern: string;
}

/**
 * checkov's CloudFormation check CKV_AWS_27 ("Ensure all data stored in the SQS queue is encrypted") reads
 * KmsMasterKeyId only (checkov 3.3.30, cloudformation/checks/resource/aws/SQSQueueEncryption.py), so it fails a queue
 * encrypted with SSE-SQS.
 */
export const SSE_SQS_REASON =
  'The queue is encrypted at rest with SSE-SQS (SqsManagedSseEnabled: true); this check reads only KmsMasterKeyId. A KMS key would have to be a customer managed key whose policy lets EventBridge use it, one more key per account for failed event envelopes (src/cfn/dead-letter.ts)';

const deleted = (queue: Queue): Queue => Object.assign(queue, { DeletionPolicy: 'Delete' as const, UpdateReplacePolicy: 'Delete' as ReplacePolicy });

/** The queue and its policy, by logical id. */
export function eventsDeadLetterQueue(rules: DeadLetterRules): Record<string, Queue | QueuePolicy> {
  const queueArn = deadLetterQueueArn(rules.queueName);
  return {
    [DEAD_LETTER_QUEUE_ID]: suppressChecks(
      deleted(
        new Queue({
          QueueName: rules.queueName,
          SqsManagedSseEnabled: true,
          MessageRetentionPeriod: DEAD_LETTER_RETENTION_SECONDS,
        }),
      ),
      [{ id: 'CKV_AWS_27', reason: SSE_SQS_REASON }],
    ),
    [DEAD_LETTER_QUEUE_POLICY_ID]: new QueuePolicy({
      Queues: [ref(DEAD_LETTER_QUEUE_ID)],
      PolicyDocument: policyDocument([
        statement({
          sid: rules.sid,
          principal: { Service: EVENTS_SERVICE },
          actions: EVENTS_DEAD_LETTER.actions,
          resources: queueArn,
          // https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html
          conditions: { ArnLike: { 'aws:SourceArn': arn(`events:\${AWS::Region}:\${AWS::AccountId}:rule/${rules.namePattern}`) } },
        }),
        statement({
          // TLS only, as the buckets' policies: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-security-best-practices.html
          sid: 'DenyInsecureTransport',
          effect: 'Deny',
          principal: '*',
          actions: ['sqs:*'],
          resources: queueArn,
          conditions: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      ]),
    }),
  };
}
