/**
 * An AWS endpoint on 127.0.0.1 (free port) that answers the reader's checks
 * for retained resources (src/deploy/retained.ts) the way AWS answers them
 * when something is refused. moto allows every call, so it cannot show these.
 * Nothing is forwarded anywhere; what each name gets:
 *
 * - STS AssumeRole of a role whose name contains `Denied`: 403 AccessDenied,
 *   "User: … is not authorized to perform: sts:AssumeRole on resource: <role>",
 *   as IAM words a refusal (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html);
 *   any other role: credentials valid for an hour.
 *   https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
 * - S3 HeadBucket, which has no body: `taken-…` 403 with x-amz-bucket-region
 *   (a bucket that exists: "regardless of the permissions on the bucket, you
 *   will receive a response header with the correct bucket location"),
 *   `refused-…` 403 without it (a refusal that says nothing of a bucket: "If the
 *   bucket doesn't exist or you don't have permission to access it, the HEAD
 *   request returns a generic 400 Bad Request, 403 Forbidden, or 404 Not
 *   Found"), `bad-…` that page's 400 naming another Region (us-west-2),
 *   `here400-…` a 400 naming eu-west-1, the tests' own, `moved-…` 301 with the
 *   header (a bucket in another Region: S3's redirect, which the SDK's client
 *   does not follow by default; inference, no page shows HeadBucket's), anything
 *   else 404.
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html
 * - CodeCommit GetRepository: `denied-…` AccessDeniedException (status 400,
 *   or 403 for `denied-403-…`), anything else RepositoryDoesNotExistException.
 *   https://docs.aws.amazon.com/codecommit/latest/APIReference/API_GetRepository.html
 * - IAM GetRole (src/deploy/existing-roles.ts): `denied-…` 403 AccessDenied,
 *   anything else 404 NoSuchEntity ("The request was rejected because it
 *   referenced a resource entity that does not exist").
 *   https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RefusingAws {
  endpoint: string;
  /** Every call, as `service Action-or-method path`. */
  calls: string[];
  stop(): Promise<void>;
}

const notAuthorized = (action: string, resource: string) => `User: arn:aws:sts::999999999999:assumed-role/Operator/someone is not authorized to perform: ${action} on resource: ${resource}`;

const stsXml = (inner: string) => `<?xml version="1.0" encoding="UTF-8"?>\n${inner}`;

function assumeRole(params: URLSearchParams): { status: number; headers: Record<string, string>; body: string } {
  const role = params.get('RoleArn') ?? '';
  const xml = { 'content-type': 'text/xml' };
  if (role.includes('Denied')) {
    return {
      status: 403,
      headers: xml,
      body: stsXml(`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>${notAuthorized('sts:AssumeRole', role)}</Message></Error><RequestId>1</RequestId></ErrorResponse>`),
    };
  }
  const expiration = new Date(Date.now() + 3_600_000).toISOString();
  return {
    status: 200,
    headers: xml,
    body: stsXml(
      `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIAREFUSINGAWS00001</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>token</SessionToken><Expiration>${expiration}</Expiration></Credentials><AssumedRoleUser><Arn>${role.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/')}/xstack</Arn><AssumedRoleId>AROAREFUSING:xstack</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleResponse>`,
    ),
  };
}

function headBucket(bucket: string): { status: number; headers: Record<string, string>; body: string } {
  if (bucket.startsWith('taken-')) return { status: 403, headers: { 'x-amz-bucket-region': 'eu-west-1' }, body: '' };
  if (bucket.startsWith('moved-')) return { status: 301, headers: { 'x-amz-bucket-region': 'us-west-2' }, body: '' };
  if (bucket.startsWith('bad-')) return { status: 400, headers: { 'x-amz-bucket-region': 'us-west-2' }, body: '' };
  if (bucket.startsWith('here400-')) return { status: 400, headers: { 'x-amz-bucket-region': 'eu-west-1' }, body: '' };
  if (bucket.startsWith('refused-')) return { status: 403, headers: {}, body: '' };
  return { status: 404, headers: {}, body: '' };
}

function getRepository(name: string): { status: number; headers: Record<string, string>; body: string } {
  const json = { 'content-type': 'application/x-amz-json-1.1' };
  if (name.startsWith('denied-')) {
    const body = JSON.stringify({ __type: 'AccessDeniedException', message: notAuthorized('codecommit:GetRepository', name) });
    return { status: name.startsWith('denied-403-') ? 403 : 400, headers: json, body };
  }
  return { status: 400, headers: json, body: JSON.stringify({ __type: 'RepositoryDoesNotExistException', message: `${name} does not exist` }) };
}

function getRole(name: string): { status: number; headers: Record<string, string>; body: string } {
  const [status, code, message] = name.startsWith('denied-')
    ? [403, 'AccessDenied', notAuthorized('iam:GetRole', `arn:aws:iam::222222222222:role/${name}`)]
    : [404, 'NoSuchEntity', `The role with name ${name} cannot be found.`];
  return {
    status,
    headers: { 'content-type': 'text/xml' },
    body: stsXml(`<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>1</RequestId></ErrorResponse>`),
  };
}

async function answer(req: IncomingMessage, body: string) {
  const service = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(req.headers.authorization ?? '')?.[1];
  if (service === 'sts') return { call: `sts ${new URLSearchParams(body).get('Action')}`, ...assumeRole(new URLSearchParams(body)) };
  if (service === 's3') {
    const bucket = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.split('/')[1] ?? '');
    return { call: `s3 ${req.method} /${bucket}`, ...headBucket(bucket) };
  }
  if (service === 'iam') return { call: `iam ${new URLSearchParams(body).get('Action')}`, ...getRole(new URLSearchParams(body).get('RoleName') ?? '') };
  if (service === 'codecommit') return { call: `codecommit ${String(req.headers['x-amz-target'])}`, ...getRepository((JSON.parse(body) as { repositoryName: string }).repositoryName) };
  return { call: `${service} ?`, status: 400, headers: {}, body: '' };
}

export async function startRefusingAws(): Promise<RefusingAws> {
  const calls: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void answer(req, Buffer.concat(chunks).toString('utf8')).then((a) => {
        calls.push(a.call);
        res.writeHead(a.status, a.headers);
        res.end(a.body);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
