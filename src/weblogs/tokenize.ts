/**
 * Space-separated fields where a field may be double-quoted (ALB, Classic ELB, combined).
 * Inside quotes `\"` and `\\` are escapes (Apache writes `\"`, VRL's ALB parser honours it);
 * a closing quote ends the field even without a following space (`"-"1` in real ALB files).
 * Returns undefined for an unterminated quote. Stops after `maxTokens`; fields whose index is
 * 0 in `keep` come back as '' (cheaper for long lines of which few fields are read).
 */
export function tokenizeQuoted(line: string, from = 0, maxTokens = Infinity, keep?: Uint8Array): string[] | undefined {
  const tokens: string[] = [];
  const n = line.length;
  let i = from;
  let nextTab = line.indexOf('\t', from);
  while (i < n && tokens.length < maxTokens) {
    const c = line.charCodeAt(i);
    if (c === 32 || c === 9) {
      i++;
      continue;
    }
    // Fields the caller does not read are counted, not copied.
    const wanted = keep === undefined || keep[tokens.length] === 1;
    if (c === 34) {
      let close = line.indexOf('"', i + 1);
      let hasEscape = false;
      // A quote preceded by an odd number of backslashes is escaped.
      while (close > 0) {
        let slashes = 0;
        for (let k = close - 1; k > i && line.charCodeAt(k) === 92; k--) slashes++;
        if (slashes % 2 === 0) break;
        hasEscape = true;
        close = line.indexOf('"', close + 1);
      }
      if (close < 0) return undefined;
      if (wanted) {
        const inner = line.slice(i + 1, close);
        tokens.push(hasEscape || inner.includes('\\\\') ? inner.replace(/\\(["\\])/g, '$1') : inner);
      } else {
        tokens.push('');
      }
      i = close + 1;
      continue;
    }
    let j = line.indexOf(' ', i + 1);
    if (j < 0) j = n;
    if (nextTab >= 0 && nextTab <= i) nextTab = line.indexOf('\t', i + 1);
    if (nextTab >= 0 && nextTab < j) j = nextTab;
    tokens.push(wanted ? line.slice(i, j) : '');
    i = j;
  }
  return tokens;
}

/** An HTTP request line split into method, target and protocol. */
export interface RequestLine {
  method: string;
  target: string;
  protocol: string;
}

/**
 * Splits `METHOD target HTTP/x.y`. The target may contain spaces (ALB logs the URI as the
 * client sent it), so the protocol is taken from the end. `-`, `- - -` and empty lines give
 * empty parts; ALB's `- http://host:80- -` keeps the logged target.
 */
export function splitRequestLine(text: string): RequestLine {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === '-') return { method: '', target: '', protocol: '' };
  const first = trimmed.indexOf(' ');
  if (first < 0) return { method: '', target: trimmed, protocol: '' };
  const method = trimmed.slice(0, first);
  const rest = trimmed.slice(first + 1).trim();
  const last = rest.lastIndexOf(' ');
  if (last >= 0) {
    const tail = rest.slice(last + 1);
    if (/^(?:HTTP\/[0-9.]+|-)$/i.test(tail)) {
      return { method, target: rest.slice(0, last).trim(), protocol: tail };
    }
  }
  return { method, target: rest, protocol: '' };
}

/** A request target split into its parts, as logged (nothing decoded). */
export interface TargetParts {
  /** True for `scheme://authority…`. */
  absolute: boolean;
  scheme: string;
  /** Everything between `//` and the path: may hold userinfo and a port. */
  authority: string;
  /** The host of the authority, without userinfo or port (IPv6 keeps its brackets). */
  host: string;
  port: string;
  path: string;
  query: string;
  fragment: string;
}

const ABSOLUTE = /^([a-zA-Z][a-zA-Z0-9+.-]{0,31}):\/\//;

/** Splits `host[:port]` (IPv6 in brackets) off an authority that has no userinfo. */
export function splitHostPort(hostPort: string): { host: string; port: string } {
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close > 0) {
      const after = hostPort.slice(close + 1);
      return { host: hostPort.slice(0, close + 1), port: after.startsWith(':') ? after.slice(1) : '' };
    }
    return { host: hostPort, port: '' };
  }
  const colon = hostPort.lastIndexOf(':');
  // More than one colon without brackets: a bare IPv6 address, no port.
  if (colon >= 0 && hostPort.indexOf(':') === colon) {
    return { host: hostPort.slice(0, colon), port: hostPort.slice(colon + 1) };
  }
  return { host: hostPort, port: '' };
}

/** Splits a logged request target (origin-form or absolute-form) into its parts. */
export function splitTarget(target: string): TargetParts {
  let scheme = '';
  let authority = '';
  let rest = target;
  const m = ABSOLUTE.exec(target);
  if (m) {
    scheme = m[1]!.toLowerCase();
    const start = m[0].length;
    let end = target.length;
    for (let i = start; i < target.length; i++) {
      const c = target.charCodeAt(i);
      if (c === 47 || c === 63 || c === 35) {
        end = i;
        break;
      }
    }
    authority = target.slice(start, end);
    rest = target.slice(end);
  }
  const hashAt = rest.indexOf('#');
  const fragment = hashAt >= 0 ? rest.slice(hashAt + 1) : '';
  const beforeHash = hashAt >= 0 ? rest.slice(0, hashAt) : rest;
  const q = beforeHash.indexOf('?');
  const path = q >= 0 ? beforeHash.slice(0, q) : beforeHash;
  const query = q >= 0 ? beforeHash.slice(q + 1) : '';
  const at = authority.lastIndexOf('@');
  const { host, port } = splitHostPort(at >= 0 ? authority.slice(at + 1) : authority);
  return { absolute: m !== null, scheme, authority, host, port, path, query, fragment };
}

/** Splits `ip:port` (IPv6 allowed unbracketed, as ALB writes it: the last colon is the port). */
export function splitAddressPort(text: string): { address: string; port: string } {
  if (text === '' || text === '-') return { address: '', port: '' };
  if (text.startsWith('[')) {
    const { host, port } = splitHostPort(text);
    return { address: host.slice(1, -1), port };
  }
  const colon = text.lastIndexOf(':');
  if (colon < 0) return { address: text, port: '' };
  const port = text.slice(colon + 1);
  if (!/^[0-9]{1,5}$/.test(port)) return { address: text, port: '' };
  return { address: text.slice(0, colon), port };
}
