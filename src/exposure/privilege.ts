import type { ManagedPolicyFacts, OwnershipMap, RoleFacts } from '../inventory/ownership.js';

/** How much a stolen credential of a role is worth, worst first. */
export const PRIVILEGE_TIERS = [
  'admin-equivalent',
  'privilege-escalation',
  'data-access',
  'unknown',
  'narrow',
] as const;
export type PrivilegeTier = (typeof PRIVILEGE_TIERS)[number];

/**
 * Higher = worse. `unknown` (no IAM data) sits between data access and narrow: it could be anything,
 * but proven data access outranks a guess.
 */
export function tierRank(tier: PrivilegeTier): number {
  return PRIVILEGE_TIERS.length - PRIVILEGE_TIERS.indexOf(tier);
}

/** One capability the policies give, with the statements that give it. */
export interface PrivilegeGrant {
  tier: PrivilegeTier;
  /** Weight for ranking within a tier (higher = worse). */
  weight: number;
  /** "iam:PassRole + ec2:RunInstances on * via inline policy deploy". */
  text: string;
}

/** The blast radius of one role. */
export interface PrivilegeAssessment {
  tier: PrivilegeTier;
  /** Ranks roles within a tier: the sum of the grants' weights. */
  score: number;
  /** One line naming the statements that decided the tier. */
  explanation: string;
  /** Every capability found, worst first. */
  grants: PrivilegeGrant[];
  /** What could not be checked (a boundary or managed policy missing from the IAM data, conditions ignored). */
  notes: string[];
}

/** A policy document and where it is attached, for the explanation. */
export interface PolicySource {
  name: string;
  kind: 'inline' | 'managed';
  document: unknown;
}

/** How much of a service's resources a grant reaches. */
type Breadth = 0 | 1 | 2 | 3;
const NONE: Breadth = 0;
const SPECIFIC: Breadth = 1;
const PREFIX: Breadth = 2;
const ALL: Breadth = 3;

interface Statement {
  effect: 'Allow' | 'Deny';
  actions: string[] | undefined;
  notActions: string[] | undefined;
  resources: string[] | undefined;
  notResources: string[] | undefined;
  conditional: boolean;
  /** "inline policy deploy", "managed policy AdministratorAccess" (with the Sid when there is one). */
  label: string;
  /** Name of the policy, to say "AdministratorAccess attached". */
  policyName: string;
  policyKind: 'inline' | 'managed';
}

interface Grant {
  breadth: Breadth;
  labels: string[];
  /** The resource pattern that gave the breadth (for "on secret:prod/*"). */
  resource: string;
}

const NO_GRANT: Grant = { breadth: NONE, labels: [], resource: '' };

function asList(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

function parseDocument(document: unknown): unknown {
  if (typeof document !== 'string') return document;
  try {
    return JSON.parse(document.startsWith('%') || document.includes('%7B') ? decodeURIComponent(document) : document);
  } catch {
    return undefined;
  }
}

function statementsOf(source: PolicySource): Statement[] {
  const document = parseDocument(source.document);
  if (document === null || typeof document !== 'object') return [];
  const raw = (document as Record<string, unknown>)['Statement'];
  const list = Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? [raw] : [];
  const out: Statement[] = [];
  for (const item of list) {
    if (item === null || typeof item !== 'object') continue;
    const s = item as Record<string, unknown>;
    const effect = s['Effect'] === 'Deny' ? 'Deny' : s['Effect'] === 'Allow' ? 'Allow' : undefined;
    if (!effect) continue;
    const sid = typeof s['Sid'] === 'string' && s['Sid'] !== '' ? ` (Sid ${s['Sid']})` : '';
    const condition = s['Condition'];
    out.push({
      effect,
      actions: asList(s['Action']),
      notActions: asList(s['NotAction']),
      resources: asList(s['Resource']),
      notResources: asList(s['NotResource']),
      conditional: condition !== undefined && condition !== null && Object.keys(condition as object).length > 0,
      label: `${source.kind} policy ${source.name}${sid}`,
      policyName: source.name,
      policyKind: source.kind,
    });
  }
  return out;
}

const regexCache = new Map<string, RegExp>();

/** IAM wildcard match: `*` any run, `?` one character. Actions compare case-insensitively, resources exactly. */
function wildcard(pattern: string, value: string, ignoreCase: boolean): boolean {
  const key = `${ignoreCase ? 'i' : 's'}${pattern}`;
  let regex = regexCache.get(key);
  if (!regex) {
    const body = pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('');
    regex = new RegExp(`^${body}$`, ignoreCase ? 'is' : 's');
    if (regexCache.size > 10_000) regexCache.clear();
    regexCache.set(key, regex);
  }
  return regex.test(value);
}

function matchesAction(statement: Statement, action: string): boolean {
  if (statement.actions) return statement.actions.some((p) => wildcard(p, action, true));
  if (statement.notActions) return !statement.notActions.some((p) => wildcard(p, action, true));
  return false;
}

/**
 * True when the statement names every action of the service (`iam:*`, `*`, `i*`) — the literal
 * `service:*` matched as a value. NotAction covers the service when none of its entries touches it.
 */
function coversService(statement: Statement, service: string): boolean {
  if (statement.actions) return statement.actions.some((p) => !p.includes('?') && wildcard(p, `${service}:*`, true));
  if (statement.notActions)
    return !statement.notActions.some((p) => p === '*' || wildcard(p.split(':')[0] ?? '', service, true));
  return false;
}

function coversEverything(statement: Statement): boolean {
  return (statement.actions ?? []).some((p) => p === '*' || p === '*:*');
}

/** Object-level S3 actions need an object ARN (bucket/key); a bare bucket ARN grants them nothing. */
const S3_OBJECT_ACTIONS = /^s3:(GetObject|PutObject|DeleteObject|GetObjectVersion)/i;

/** Services whose actions act on another service's ARNs (sts:AssumeRole on iam roles). */
const RESOURCE_SERVICE: Record<string, string> = { sts: 'iam', 'rds-data': 'rds' };

/** How much of the action's resources one resource pattern reaches. */
function breadthOf(pattern: string, action: string): Breadth {
  if (pattern === '*') return ALL;
  const service = (action.split(':')[0] ?? '').toLowerCase();
  const parts = pattern.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return pattern.includes('*') ? ALL : SPECIFIC;
  const arnService = parts[2] ?? '';
  if (!wildcard(arnService, RESOURCE_SERVICE[service] ?? service, true)) return NONE;
  const resource = parts.slice(5).join(':');
  if (resource === '') return SPECIFIC;
  if (service === 's3') {
    const slash = resource.indexOf('/');
    const bucket = slash < 0 ? resource : resource.slice(0, slash);
    if (S3_OBJECT_ACTIONS.test(action) && slash < 0 && !bucket.includes('*')) return NONE;
    if (bucket.startsWith('*')) return ALL;
    if (/[*?]/.test(bucket)) return PREFIX;
    return SPECIFIC;
  }
  // role/NAME, table/NAME, secret:NAME, parameter/PATH, key/ID: the id part decides.
  const split = /^([A-Za-z-]+)[/:](.*)$/s.exec(resource);
  const id = split ? (split[2] ?? '') : resource;
  if (split && (split[1] ?? '').includes('*')) return ALL;
  if (id === '' || id.startsWith('*')) return ALL;
  if (/[*?]/.test(id)) return PREFIX;
  return SPECIFIC;
}

function resourceBreadth(statement: Statement, action: string): { breadth: Breadth; resource: string } {
  // NotResource reaches everything but the listed resources: as good as all.
  if (!statement.resources) return { breadth: statement.notResources ? ALL : NONE, resource: '*' };
  let best: { breadth: Breadth; resource: string } = { breadth: NONE, resource: '' };
  for (const pattern of statement.resources) {
    const breadth = breadthOf(pattern, action);
    if (breadth > best.breadth) best = { breadth, resource: pattern };
  }
  return best;
}

/** Widest Allow for the action in a set of statements, minus unconditional Deny statements reaching all. */
function evaluate(statements: readonly Statement[], action: string): Grant {
  for (const s of statements) {
    if (s.effect !== 'Deny' || s.conditional || !matchesAction(s, action)) continue;
    if (resourceBreadth(s, action).breadth === ALL) return NO_GRANT;
  }
  let best: Grant = NO_GRANT;
  for (const s of statements) {
    if (s.effect !== 'Allow' || !matchesAction(s, action)) continue;
    const { breadth, resource } = resourceBreadth(s, action);
    if (breadth === NONE) continue;
    if (breadth > best.breadth) best = { breadth, labels: [s.label], resource };
    else if (breadth === best.breadth && !best.labels.includes(s.label))
      best = { ...best, labels: [...best.labels, s.label] };
  }
  return best;
}

function min(a: Breadth, b: Breadth): Breadth {
  return (a < b ? a : b) as Breadth;
}

/** Shortens an ARN pattern to what a responder needs: `secret:prod/*`, `table/*`, `bucket-*`. */
function shortResource(resource: string): string {
  if (resource === '*' || !resource.startsWith('arn:')) return resource;
  return resource.split(':').slice(5).join(':') || resource;
}

function via(labels: readonly string[]): string {
  return labels.slice(0, 2).join(' and ') + (labels.length > 2 ? ` (+${labels.length - 2} more)` : '');
}

/** A role other policies may reach by sts:AssumeRole: looked up in the IAM data. */
export type RoleResolver = (arnPattern: string) => { arn: string; name: string; assessment: PrivilegeAssessment }[];

interface Evaluator {
  grant(action: string): Grant;
  identity: readonly Statement[];
}

const PASS_ROLE_TARGETS = [
  'ec2:RunInstances',
  'lambda:CreateFunction',
  'cloudformation:CreateStack',
  'glue:CreateDevEndpoint',
] as const;

const IAM_WRITES: readonly { action: string; weight: number }[] = [
  { action: 'iam:AttachRolePolicy', weight: 88 },
  { action: 'iam:PutRolePolicy', weight: 88 },
  { action: 'iam:CreatePolicyVersion', weight: 86 },
  { action: 'iam:AttachUserPolicy', weight: 84 },
  { action: 'iam:PutUserPolicy', weight: 84 },
  { action: 'iam:AttachGroupPolicy', weight: 82 },
  { action: 'iam:PutGroupPolicy', weight: 82 },
  { action: 'iam:UpdateAssumeRolePolicy', weight: 82 },
  { action: 'iam:CreateAccessKey', weight: 80 },
  { action: 'iam:CreateLoginProfile', weight: 76 },
  { action: 'iam:UpdateLoginProfile', weight: 76 },
];

const DATA_READS: readonly { actions: string[]; weights: [number, number, number]; minBreadth: Breadth }[] = [
  // weights by breadth: [specific, prefix, all]; minBreadth: below it the grant is narrow.
  { actions: ['secretsmanager:GetSecretValue'], weights: [35, 55, 70], minBreadth: SPECIFIC },
  { actions: ['s3:GetObject'], weights: [0, 45, 60], minBreadth: PREFIX },
  {
    actions: ['rds-data:ExecuteStatement', 'rds-data:BatchExecuteStatement'],
    weights: [0, 35, 45],
    minBreadth: PREFIX,
  },
  {
    actions: ['dynamodb:Scan', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'],
    weights: [0, 0, 40],
    minBreadth: ALL,
  },
  {
    actions: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'],
    weights: [0, 20, 30],
    minBreadth: PREFIX,
  },
  { actions: ['kms:Decrypt'], weights: [0, 0, 25], minBreadth: ALL },
];

function describeOn(grant: Grant): string {
  return grant.breadth === ALL && grant.resource === '*' ? 'on *' : `on ${shortResource(grant.resource)}`;
}

function adminGrant(ev: Evaluator): PrivilegeGrant | undefined {
  // Self-escalation must survive every Deny and the boundary, or "everything" is not really everything.
  const selfEscalation =
    ev.grant('iam:AttachRolePolicy').breadth === ALL || ev.grant('iam:PutRolePolicy').breadth === ALL;
  if (!selfEscalation) return undefined;
  const everything = ev.identity.filter(
    (s) => s.effect === 'Allow' && !s.conditional && coversEverything(s) && resourceBreadth(s, '*:*').breadth === ALL,
  );
  if (everything.length > 0) {
    const managed = everything.find((s) => s.policyKind === 'managed');
    const first = managed ?? everything[0]!;
    const text = first.policyKind === 'managed' ? `${first.policyName} attached` : `Action * on * via ${first.label}`;
    return { tier: 'admin-equivalent', weight: 100, text };
  }
  const iamAll = ev.identity.filter(
    (s) =>
      s.effect === 'Allow' && !s.conditional && coversService(s, 'iam') && resourceBreadth(s, 'iam:*').breadth === ALL,
  );
  const assume = ev.grant('sts:AssumeRole');
  if (iamAll.length > 0 && assume.breadth === ALL) {
    return {
      tier: 'admin-equivalent',
      weight: 95,
      text: `iam:* via ${via(iamAll.map((s) => s.label))} + sts:AssumeRole on * via ${via(assume.labels)}`,
    };
  }
  return undefined;
}

function escalationGrants(ev: Evaluator, resolve: RoleResolver | undefined, selfArn: string): PrivilegeGrant[] {
  const out: PrivilegeGrant[] = [];
  const pass = ev.grant('iam:PassRole');
  if (pass.breadth >= PREFIX) {
    for (const target of PASS_ROLE_TARGETS) {
      const t = ev.grant(target);
      if (t.breadth === NONE) continue;
      const sameSource = pass.labels.length === 1 && t.labels.length === 1 && pass.labels[0] === t.labels[0];
      const text = sameSource
        ? `iam:PassRole + ${target} ${pass.breadth === ALL && t.breadth === ALL ? 'on *' : `(PassRole ${describeOn(pass)})`} via ${via(pass.labels)}`
        : `iam:PassRole ${describeOn(pass)} via ${via(pass.labels)} + ${target} via ${via(t.labels)}`;
      out.push({ tier: 'privilege-escalation', weight: pass.breadth === ALL ? 80 : 70, text });
    }
  }
  for (const { action, weight } of IAM_WRITES) {
    const g = ev.grant(action);
    if (g.breadth >= PREFIX)
      out.push({
        tier: 'privilege-escalation',
        weight: g.breadth === ALL ? weight : weight - 10,
        text: `${action} ${describeOn(g)} via ${via(g.labels)}`,
      });
  }
  if (resolve) {
    // Reaching a privileged role through sts:AssumeRole is as good as holding it (if its trust policy agrees).
    for (const s of ev.identity) {
      if (s.effect !== 'Allow' || !matchesAction(s, 'sts:AssumeRole')) continue;
      for (const pattern of s.resources ?? []) {
        if (pattern === '*') continue;
        for (const target of resolve(pattern)) {
          if (target.arn.toLowerCase() === selfArn.toLowerCase()) continue;
          if (ev.grant('sts:AssumeRole').breadth === NONE) continue;
          const t = target.assessment.tier;
          if (t !== 'admin-equivalent' && t !== 'privilege-escalation' && t !== 'data-access') continue;
          out.push({
            tier: t === 'data-access' ? 'data-access' : 'privilege-escalation',
            weight: t === 'admin-equivalent' ? 90 : t === 'privilege-escalation' ? 75 : 30,
            text: `sts:AssumeRole on ${target.name} (${t}; its trust policy not checked) via ${s.label}`,
          });
        }
      }
    }
  }
  return out;
}

function dataGrants(ev: Evaluator): PrivilegeGrant[] {
  const out: PrivilegeGrant[] = [];
  for (const { actions, weights, minBreadth } of DATA_READS) {
    let best: { action: string; grant: Grant } | undefined;
    for (const action of actions) {
      const g = ev.grant(action);
      if (g.breadth > (best?.grant.breadth ?? NONE)) best = { action, grant: g };
    }
    if (!best || best.grant.breadth < minBreadth) continue;
    const weight = weights[best.grant.breadth - 1] ?? 0;
    const name = actions.length > 1 && best.action.startsWith('ssm:') ? 'ssm:GetParameter*' : best.action;
    out.push({ tier: 'data-access', weight, text: `${name} ${describeOn(best.grant)} via ${via(best.grant.labels)}` });
  }
  return out;
}

function summarise(grants: readonly PrivilegeGrant[], tier: PrivilegeTier): string {
  const deciding = grants.filter((g) => g.tier === tier);
  const shown = deciding.slice(0, 2).map((g) => g.text);
  const more = deciding.length > 2 ? ` (+${deciding.length - 2} more)` : '';
  return shown.join('; ') + more;
}

/** Deny entries of a boundary, for "within boundary B (denies x, y)". */
function boundaryDenies(statements: readonly Statement[]): string[] {
  return statements
    .filter((s) => s.effect === 'Deny' && !s.conditional)
    .flatMap((s) => s.actions ?? (s.notActions ? [`everything but ${s.notActions.join(', ')}`] : []));
}

/**
 * Assesses a set of identity policies (inline and attached managed default versions) and an optional
 * permissions boundary: what a thief holding the role's credentials can do, as a tier, a score and
 * a one-line explanation. Deny statements without conditions that reach all resources remove an
 * action; conditional Deny statements (such as AWSRevokeOlderSessions) are ignored, because they do
 * not stop a fresh session. A boundary intersects: an action counts only when both allow it.
 */
export function assessPolicies(
  policies: readonly PolicySource[],
  options: { boundary?: PolicySource; resolveRole?: RoleResolver; roleArn?: string; notes?: string[] } = {},
): PrivilegeAssessment {
  const identity = policies.flatMap(statementsOf);
  const boundary = options.boundary ? statementsOf(options.boundary) : undefined;
  const cache = new Map<string, Grant>();
  const ev: Evaluator = {
    identity,
    grant(action) {
      const key = action.toLowerCase();
      let g = cache.get(key);
      if (!g) {
        g = evaluate(identity, action);
        if (boundary && g.breadth > NONE) {
          const b = evaluate(boundary, action);
          g = b.breadth === NONE ? NO_GRANT : { ...g, breadth: min(g.breadth, b.breadth) };
        }
        cache.set(key, g);
      }
      return g;
    },
  };
  const notes = [...(options.notes ?? [])];
  if (identity.some((s) => s.effect === 'Deny' && s.conditional))
    notes.push('conditional Deny statements ignored: they do not stop every session');

  const grants: PrivilegeGrant[] = [];
  const admin = adminGrant(ev);
  if (admin) grants.push(admin);
  grants.push(...escalationGrants(ev, options.resolveRole, options.roleArn ?? ''));
  grants.push(...dataGrants(ev));
  grants.sort((a, b) => tierRank(b.tier) - tierRank(a.tier) || b.weight - a.weight);

  const tier: PrivilegeTier = grants[0]?.tier ?? 'narrow';
  const score = grants.reduce((sum, g) => sum + g.weight, 0);
  let explanation: string;
  if (tier === 'narrow') {
    const allows = identity.filter((s) => s.effect === 'Allow').length;
    explanation =
      allows === 0
        ? 'no Allow statements'
        : `no admin, escalation or broad data permissions in ${policies.length} polic${policies.length === 1 ? 'y' : 'ies'}`;
  } else {
    explanation = summarise(grants, tier);
  }
  if (boundary && options.boundary && tier !== 'narrow') {
    const denies = boundaryDenies(boundary);
    explanation += ` (within boundary ${options.boundary.name}${denies.length > 0 ? `, which denies ${denies.slice(0, 3).join(', ')}${denies.length > 3 ? ' …' : ''}` : ''})`;
  }
  return {
    tier,
    score: tier === 'narrow' ? identity.filter((s) => s.effect === 'Allow').length : score,
    explanation,
    grants,
    notes,
  };
}

/** AWS managed policies whose meaning is certain even when the IAM data left their document out. */
const WELL_KNOWN: Record<string, unknown> = {
  AdministratorAccess: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
};

function managedSource(arn: string, policies: ReadonlyMap<string, ManagedPolicyFacts>): PolicySource | undefined {
  const name = arn.split('/').pop() ?? arn;
  const facts = policies.get(arn);
  if (facts && facts.document !== undefined && facts.document !== null)
    return { name: facts.name || name, kind: 'managed', document: facts.document };
  const known = /^arn:[\w-]+:iam::aws:policy\//.test(arn) ? WELL_KNOWN[name] : undefined;
  return known ? { name, kind: 'managed', document: known } : undefined;
}

/**
 * The blast radius of a role from `iam get-account-authorization-details` data: inline policies,
 * attached managed policies (default versions), the permissions boundary, and roles it may assume
 * that the same data shows to be privileged. `unknown` when the role is not in the data.
 */
export function assessRole(role: RoleFacts | undefined, ownership: OwnershipMap): PrivilegeAssessment {
  return assessRoleAt(role, ownership, 0, new Map());
}

function assessRoleAt(
  role: RoleFacts | undefined,
  ownership: OwnershipMap,
  depth: number,
  memo: Map<string, PrivilegeAssessment>,
): PrivilegeAssessment {
  if (!role)
    return {
      tier: 'unknown',
      score: 0,
      explanation: 'role not in the IAM data (load iam get-account-authorization-details to rank it)',
      grants: [],
      notes: [],
    };
  const key = `${depth}\n${role.arn.toLowerCase()}`;
  const cached = memo.get(key);
  if (cached) return cached;
  const notes: string[] = [];
  const policies: PolicySource[] = Object.entries(role.inlinePolicies).map(([name, document]) => ({
    name,
    kind: 'inline',
    document,
  }));
  for (const arn of role.attachedPolicyArns) {
    const source = managedSource(arn, ownership.managedPolicies);
    if (source) policies.push(source);
    else notes.push(`managed policy ${arn} not in the IAM data: not assessed`);
  }
  let boundary: PolicySource | undefined;
  if (role.permissionsBoundaryArn) {
    boundary = managedSource(role.permissionsBoundaryArn, ownership.managedPolicies);
    if (!boundary) notes.push(`permissions boundary ${role.permissionsBoundaryArn} not in the IAM data: not applied`);
  }
  const resolveRole: RoleResolver | undefined =
    depth === 0
      ? (pattern) =>
          [...ownership.roles.values()]
            .filter((r) => wildcard(pattern, r.arn, true))
            .slice(0, 50)
            .map((r) => ({ arn: r.arn, name: r.roleName, assessment: assessRoleAt(r, ownership, depth + 1, memo) }))
      : undefined;
  const assessment = assessPolicies(policies, {
    ...(boundary ? { boundary } : {}),
    ...(resolveRole ? { resolveRole } : {}),
    roleArn: role.arn,
    notes,
  });
  memo.set(key, assessment);
  return assessment;
}

/** Memoising wrapper for assessing many roles of one map. */
export function roleAssessor(ownership: OwnershipMap): (role: RoleFacts | undefined) => PrivilegeAssessment {
  const memo = new Map<string, PrivilegeAssessment>();
  return (role) => assessRoleAt(role, ownership, 0, memo);
}
