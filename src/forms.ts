/**
 * How a policy names the many accounts of the org. `explicit` lists every ARN
 * (the default, and what auditors prefer); `organization` is the compact form
 * the compiler switches to when a list would pass an AWS size limit: a pattern
 * narrowed to the org's own principals or resources by condition keys.
 */
export type Form = { readonly kind: 'explicit' } | { readonly kind: 'organization'; readonly organizationId: string };

export const EXPLICIT: Form = { kind: 'explicit' };
