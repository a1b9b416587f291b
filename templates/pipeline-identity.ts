/**
 * Stage 1, every pipeline account: the CodePipeline service role, alone, so
 * that the source account can name it as a principal before anything else of
 * the pipeline exists. Its permissions arrive with each pipeline (templates/pipeline.ts).
 */
import { getAtt, arn, ref } from '../src/cfn/intrinsics';
import { role } from '../src/cfn/resources';
import type { TemplateDefinition } from '../src/cfn/template';
import { serviceTrust } from '../src/iam/policy';
import type { Names } from '../src/naming';

export function pipelineIdentity(names: Names): TemplateDefinition {
  return {
    description: 'xstack pipeline-identity: CodePipeline service role of this pipeline account',
    parameters: {},
    resources: {
      PipelineRole: role({
        name: names.pipelineRole(),
        description: 'CodePipeline service role; assumes the source account role for the CodeCommit source action',
        // Confused-deputy guard: only CodePipeline acting for this account's own pipelines.
        // https://docs.aws.amazon.com/codepipeline/latest/userguide/security-iam.html
        trust: serviceTrust('codepipeline.amazonaws.com', {
          StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') },
          ArnLike: { 'aws:SourceArn': arn(`codepipeline:\${AWS::Region}:\${AWS::AccountId}:${names.pipelinePattern()}`) },
        }),
      }),
    },
    outputs: {
      PipelineRoleArn: { description: 'ARN of the CodePipeline service role', value: getAtt('PipelineRole', 'Arn'), principalOf: 'PipelineRole' },
      PipelineRoleName: { description: 'Name of the CodePipeline service role', value: ref('PipelineRole') },
    },
  };
}
