/**
 * Every action the reader role's policy may hold, in any account (src/deploy/reader-policy.ts): what the audit report
 * says of the role. Apart from that module, so that the compile, which writes the report, loads no AWS client.
 */
export const READER_ACTIONS = ['cloudformation:ListStacks', 'cloudformation:DescribeStacks', 'cloudformation:ListStackResources', 's3:ListBucket', 's3:GetEncryptionConfiguration', 'codecommit:GetRepository', 'iam:GetRole', 'iam:ListEntitiesForPolicy'] as const;
