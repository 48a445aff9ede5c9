/**
 * Says what a file looks like from its first bytes, for the message a reader gives when a file
 * holds nothing it can read: "a JSON object with keys name, version, scripts", "Markdown/text",
 * "an ALB access log". A guess for people, never used to decide how a file is read.
 */
import { excerpt, isCloudTrailDetailType } from '../cloudtrail/wrappers.js';
import { sniffLine } from '../weblogs/read.js';

/** How much of a file's decoded start is kept to describe it. */
export const DESCRIBE_HEAD_BYTES = 16 * 1024;

/** What `offbox scan`, `exposure`, `hunt` and `watch` read (docs/inputs.md has an example of each). */
export const EXPECTED_CLOUDTRAIL =
  'CloudTrail events: S3 delivery files {"Records":[…]}, JSON lines or arrays of events, lookup-events output, ' +
  'EventBridge events, CloudWatch Logs subscription payloads or exports, Splunk HEC or Cribl exports, ' +
  'CloudTrail Lake results with eventJson (docs/inputs.md)';

/** What `offbox ssrf` and `--web-logs` read. */
export const EXPECTED_WEB_LOGS =
  'web logs: ALB, Classic ELB, CloudFront, AWS WAF or nginx/Apache access logs or nginx/Apache error logs, plain or gzip; ' +
  'any other text log (application logs, tracebacks) with --text';

const INVENTORY_KEYS: Readonly<Record<string, string>> = {
  Reservations: 'describe-instances',
  NetworkInterfaces: 'describe-network-interfaces',
  Addresses: 'describe-addresses',
  NatGateways: 'describe-nat-gateways',
  VpcEndpoints: 'describe-vpc-endpoints',
  RoleDetailList: 'iam get-account-authorization-details',
  UserDetailList: 'iam get-account-authorization-details',
};

const MAGIC: readonly [string, string][] = [
  ['PK\u0003\u0004', 'a ZIP archive'],
  ['%PDF', 'a PDF document'],
  ['\u0089PNG', 'a PNG image'],
  ['PAR1', 'a Parquet file'],
  ['ORC', 'an ORC file'],
  ['SQLite format 3', 'a SQLite database'],
  ['\u007fELF', 'an executable'],
];

interface ObjectHead {
  keys: string[];
  /** Top-level keys whose values are strings, with the value (raw JSON text, not unescaped). */
  strings: Map<string, string>;
}

/** The keys of the object that opens at `open` (as far as the head shows them), and its string values. */
function objectHead(text: string, open: number): ObjectHead {
  const keys: string[] = [];
  const strings = new Map<string, string>();
  let depth = 0;
  let expectKey = false;
  let afterColon = false;
  let lastKey: string | undefined;
  for (let i = open; i < text.length && keys.length < 40; i++) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const s = text.slice(i + 1, j);
      if (depth === 1 && expectKey) {
        keys.push(s);
        lastKey = s;
        expectKey = false;
      } else if (depth === 1 && afterColon && lastKey !== undefined) {
        strings.set(lastKey, s);
      }
      afterColon = false;
      i = j;
      continue;
    }
    if (c === '{' || c === '[') {
      depth++;
      if (depth === 1) expectKey = c === '{';
      afterColon = false;
    } else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) break;
    } else if (c === ',' && depth === 1) {
      expectKey = true;
    } else if (c === ':' && depth === 1) {
      afterColon = true;
    } else if (c !== ' ' && c !== '\n' && c !== '\r' && c !== '\t') {
      afterColon = false;
    }
  }
  return { keys, strings };
}

function listKeys(keys: readonly string[]): string {
  const shown = keys.slice(0, 6).map((key) => excerpt(key).slice(0, 40));
  return shown.join(', ') + (keys.length > 6 ? ', …' : '');
}

/** What a JSON object is, by its keys. */
function describeObject({ keys, strings }: ObjectHead): string {
  const has = (key: string): boolean => keys.includes(key);
  if (has('Records')) return 'a CloudTrail delivery file';
  if (has('digestStartTime') || has('digestS3Bucket')) return 'a CloudTrail digest file';
  const detailType = strings.get('detail-type');
  if (detailType !== undefined) {
    return isCloudTrailDetailType(detailType)
      ? 'EventBridge events from CloudTrail'
      : `EventBridge events of detail-type ${JSON.stringify(excerpt(detailType))}, not from CloudTrail`;
  }
  if (has('messageType') || has('logEvents')) {
    return `a CloudWatch Logs subscription payload (${excerpt(strings.get('messageType') ?? 'logEvents')})`;
  }
  if (has('awslogs')) return 'a Lambda CloudWatch Logs event (awslogs.data)';
  if (has('Events')) return 'aws cloudtrail lookup-events output';
  if (has('QueryResultRows')) return 'CloudTrail Lake query results';
  if (has('sourcetype') || (has('event') && has('time'))) {
    const sourcetype = strings.get('sourcetype');
    return `Splunk HEC events${sourcetype ? ` (sourcetype ${JSON.stringify(excerpt(sourcetype))})` : ''}`;
  }
  if (has('httpRequest')) return 'an AWS WAF log (offbox ssrf and --web-logs read it)';
  for (const key of keys) {
    const command = INVENTORY_KEYS[key];
    if (command) return `AWS CLI ${command} output (inventory: pass its folder with --inventory)`;
  }
  if (has('syncToken') && has('prefixes')) return 'an AWS ip-ranges.json (pass it with --ip-ranges)';
  if (has('eventName') || has('eventSource') || has('eventVersion')) return 'CloudTrail events';
  if (keys.length === 0) return 'a JSON object';
  return `a JSON object with keys ${listKeys(keys)}`;
}

/** What a run of text lines is. */
function describeLines(lines: readonly string[]): string {
  const kinds = lines.map((line) => sniffLine(line));
  const first = (kind: string): boolean => kinds.includes(kind as never);
  if (first('alb')) return 'an ALB access log (offbox ssrf and --web-logs read it)';
  if (first('elb')) return 'a Classic ELB access log (offbox ssrf and --web-logs read it)';
  if (first('cloudfront') || first('cloudfront-header')) return 'a CloudFront access log (offbox ssrf reads it)';
  if (first('combined')) return 'an nginx/Apache access log (offbox ssrf reads it)';
  if (first('error-log')) return 'an nginx/Apache error log (offbox ssrf reads it as text)';
  if (first('nlb')) return 'an NLB access log';
  if (first('alb-connection')) return 'an ALB connection log';
  const head = lines[0] ?? '';
  if (/^version account-id interface-id/.test(head) || /^\d+ \d{12} eni-[0-9a-f]+ /.test(head)) return 'a VPC flow log';
  if (/^\d{4}-\d{2}-\d{2}T\S+ \S/.test(head)) {
    return 'timestamped text lines (a CloudWatch Logs export?) whose messages are not CloudTrail JSON';
  }
  if (lines.some((line) => /^#{1,6} |^```|^\s*[-*] \S|\[[^\]]+\]\([^)]+\)/.test(line))) return 'Markdown/text';
  const commas = head.split(',').length - 1;
  if (commas >= 2 && (lines[1] === undefined || lines[1].split(',').length - 1 === commas)) {
    return `CSV (columns ${listKeys(head.split(',').map((c) => c.trim().replace(/^"|"$/g, '')))})`;
  }
  if (/^[A-Za-z_][\w-]*:(\s|$)/.test(head)) return 'YAML or other text';
  return 'text that is not JSON';
}

/**
 * What the decoded start of a file looks like, in a few words: a known format or kind of JSON,
 * binary data, or text. Keys and values from the file are cut short and stripped of control
 * characters; the caller still escapes the whole message for the terminal.
 */
export function describeContent(head: Uint8Array): string {
  const bytes = Buffer.from(head.buffer, head.byteOffset, Math.min(head.length, DESCRIBE_HEAD_BYTES));
  let text = bytes.toString('latin1');
  for (const [magic, what] of MAGIC) if (text.startsWith(magic)) return what;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return 'gzip data inside gzip';
  let control = 0;
  for (let i = 0; i < Math.min(bytes.length, 1024); i++) {
    const c = bytes[i]!;
    if (c < 0x09 || (c > 0x0d && c < 0x20)) control++;
  }
  if (control > 0) return 'binary data, not text';
  text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  const start = text.search(/\S/);
  if (start < 0) return 'an empty file';
  const c = text[start];
  if (c === '{') return describeObject(objectHead(text, start));
  if (c === '[') {
    const next = text.slice(start + 1).search(/\S/);
    const inner = next < 0 ? undefined : text[start + 1 + next];
    if (inner === '{') {
      const element = describeObject(objectHead(text, start + 1 + next));
      return `a JSON array of ${element.replace(/^an? /, '')}`;
    }
    if (inner === '[') return 'a JSON array of arrays';
    if (inner === '"') return 'a JSON array of strings';
    return 'a JSON array';
  }
  const lines = text
    .slice(start)
    .split('\n')
    .map((line) => line.replace(/\r$/, ''))
    .filter((line) => line.trim() !== '')
    .slice(0, 20);
  return describeLines(lines);
}
