/**
 * An endpoint the AWS SDK is pointed at (--endpoint, AWS_ENDPOINT_URL), checked before any client is built: the
 * SDK's own answer to `127.0.0.1:5057` is "TypeError: Invalid URL" from deep inside it, and to `localhost:4566`
 * (a valid URL of scheme `localhost:`) an error AWS never sent.
 */
export function endpointProblem(value: string): string | undefined {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url && (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '') return undefined;
  const example = value.includes('://') ? 'http://127.0.0.1:5000' : `http://${value}`;
  return `${value} is not an http:// or https:// URL; expected e.g. ${example}`;
}

/**
 * Whether an endpoint is AWS's own (a FIPS, dual-stack or VPC interface endpoint of a service), not an emulator's:
 * AWS's endpoints are under amazonaws.com, amazonaws.com.cn (China) or api.aws (dual-stack)
 * (https://docs.aws.amazon.com/general/latest/gr/rande.html). A run against AWS through one of them deploys the org
 * for real, so what deploy records and compares about where the org lives applies to it (deploy/command.ts).
 */
export function isAwsEndpoint(value: string): boolean {
  let host: string;
  try {
    host = new URL(value).hostname.toLowerCase();
  } catch {
    return false;
  }
  return /(^|\.)(amazonaws\.com|amazonaws\.com\.cn|api\.aws)$/.test(host);
}
