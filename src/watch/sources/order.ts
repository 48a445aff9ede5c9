/** The delivery stamp in a CloudTrail log file name (`…_20260302T0105Z_…`), '' when there is none. */
export function deliveryStamp(name: string): string {
  return /_(\d{8}T\d{4}Z)_/.exec(name)?.[1] ?? '';
}

/**
 * Orders log objects the way CloudTrail delivered them: by the stamp in the file name, then by name.
 * Reading a backlog in delivery order lets each finding see the evidence delivered before it.
 */
export function byDelivery(a: string, b: string): number {
  const x = deliveryStamp(a);
  const y = deliveryStamp(b);
  if (x !== y) return x < y ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
