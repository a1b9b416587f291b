/**
 * A SERVICE_MANAGED org of one source and one pipeline account, each in an organizational unit of its own; its source
 * account is the moto organization's management account (123456789012).
 */
export const SERVICE_ORG = `organization:
  partition: aws
  region: eu-west-1
prefix: svc
stackSets:
  permissionModel: SERVICE_MANAGED
accounts:
  source:
    id: "123456789012"
    role: source
    organizationalUnit: ou-abcd-11111111
  dev:
    id: "222222222222"
    role: pipeline
    environment: dev
    organizationalUnit: ou-abcd-22222222
repositories:
  app:
    account: source
pipelines:
  app:
    repository: app
    branches:
      dev: main
    deploy:
      type: codedeploy
`;
