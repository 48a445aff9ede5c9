/**
 * A small OCSF event validator over the vendored schema release in test/fixtures/ocsf-1.8.0:
 * it resolves `extends` and `$include` the way the OCSF compiler does and reports every
 * deviation as a path and a message, so tests can assert an empty list.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const OCSF_FIXTURE_DIR = fileURLToPath(new URL('../../test/fixtures/ocsf-1.8.0/', import.meta.url));

interface EnumValue {
  caption: string;
}

interface RawAttribute {
  requirement?: string;
  type?: string;
  is_array?: boolean;
  enum?: Record<string, EnumValue>;
  profile?: string | null;
  sibling?: string;
  '@deprecated'?: unknown;
}

interface RawDefinition {
  name: string;
  caption: string;
  uid?: number;
  category?: string;
  extends?: string;
  profiles?: string[];
  constraints?: { at_least_one?: string[]; just_one?: string[] };
  attributes?: Record<string, RawAttribute | string[]>;
  '@deprecated'?: unknown;
}

interface DataType {
  type?: string;
  regex?: string;
  max_len?: number;
  range?: [number, number];
}

interface Attribute extends RawAttribute {
  name: string;
}

interface Definition {
  name: string;
  caption: string;
  attributes: Map<string, Attribute>;
  constraints: { at_least_one?: string[]; just_one?: string[] };
  profiles: Set<string>;
  deprecated: boolean;
}

export interface OcsfValidator {
  /** Every problem found in `event`, as `path: message`; empty when the event is valid. */
  validate(event: unknown): string[];
  /** The schema files read so far, relative to the schema directory. */
  readonly filesRead: () => string[];
}

// Ids the class, not the dictionary, defines: they are checked against the class and category.
const CLASSIFICATION = new Set(['class_uid', 'category_uid', 'type_uid']);
const OTHER = '99';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Loads the schema in `dir` (the vendored 1.8.0 release by default) lazily, file by file. */
export function loadOcsfValidator(dir: string = OCSF_FIXTURE_DIR): OcsfValidator {
  const cache = new Map<string, unknown>();
  const read = <T>(relative: string): T => {
    if (!cache.has(relative)) {
      try {
        cache.set(relative, JSON.parse(readFileSync(join(dir, relative), 'utf8')));
      } catch (error) {
        throw new Error(`OCSF schema file ${relative} is missing from ${dir} or unreadable: ${String(error)}`);
      }
    }
    return cache.get(relative) as T;
  };

  const dictionary = read<{
    attributes: Record<string, RawAttribute>;
    types: { attributes: Record<string, DataType> };
  }>('dictionary.json');
  const categories = read<{ attributes: Record<string, { uid: number; caption: string }> }>('categories.json');
  const { version } = read<{ version: string }>('version.json');
  const dataTypes = dictionary.types.attributes;

  const eventFiles = new Map<string, string>();
  for (const file of readdirSync(join(dir, 'events'), { recursive: true, encoding: 'utf8' })) {
    if (file.endsWith('.json')) eventFiles.set(file.replace(/^.*\//, '').replace(/\.json$/, ''), `events/${file}`);
  }

  const resolved = new Map<string, Definition>();
  const resolve = (kind: 'object' | 'event', name: string): Definition => {
    const key = `${kind}:${name}`;
    const cached = resolved.get(key);
    if (cached) return cached;
    const file = kind === 'object' ? `objects/${name}.json` : eventFiles.get(name);
    if (file === undefined) throw new Error(`OCSF event class ${name} is not in ${dir}`);
    const raw = read<RawDefinition>(file);
    const parent = raw.extends !== undefined ? resolve(kind, raw.extends) : undefined;
    const attributes = new Map<string, Attribute>();
    for (const [attrName, attr] of parent?.attributes ?? []) attributes.set(attrName, { ...attr });
    const profiles = new Set(parent?.profiles ?? []);
    for (const profile of raw.profiles ?? []) profiles.add(profile);

    const merge = (attrName: string, attr: RawAttribute): void => {
      const previous = attributes.get(attrName);
      const enumValues = previous?.enum || attr.enum ? { ...(previous?.enum ?? {}), ...(attr.enum ?? {}) } : undefined;
      attributes.set(attrName, {
        ...(previous ?? { name: attrName }),
        ...attr,
        name: attrName,
        ...(enumValues ? { enum: enumValues } : {}),
      });
    };
    const own = raw.attributes ?? {};
    for (const include of (own['$include'] as string[] | undefined) ?? []) {
      const profile = read<RawDefinition>(include);
      for (const [attrName, attr] of Object.entries(profile.attributes ?? {})) {
        if (Array.isArray(attr)) continue;
        merge(attrName, { ...attr, profile: 'profile' in attr ? attr.profile : profile.name });
      }
    }
    for (const [attrName, attr] of Object.entries(own)) {
      if (!Array.isArray(attr)) merge(attrName, attr);
    }
    const definition: Definition = {
      name: raw.name,
      caption: raw.caption,
      attributes,
      constraints: raw.constraints ?? parent?.constraints ?? {},
      profiles,
      deprecated: raw['@deprecated'] !== undefined,
    };
    resolved.set(key, definition);
    return definition;
  };

  /** The attribute as used: dictionary entry, then the class/object's refinements. */
  const attributeOf = (definition: Definition, name: string): Attribute | undefined => {
    const own = definition.attributes.get(name);
    if (!own) return undefined;
    const base = dictionary.attributes[name];
    if (!base) throw new Error(`${definition.name}.${name} is not in the OCSF dictionary`);
    const enumValues = base.enum || own.enum ? { ...(base.enum ?? {}), ...(own.enum ?? {}) } : undefined;
    return { ...base, ...own, ...(enumValues ? { enum: enumValues } : {}) };
  };

  // A class names its category, or inherits it (detection_finding from finding).
  const categoryOf = (className: string): { uid: number; caption: string } | undefined => {
    const file = eventFiles.get(className);
    if (file === undefined) return undefined;
    const raw = read<RawDefinition>(file);
    if (raw.category !== undefined && raw.category !== 'other') return categories.attributes[raw.category];
    return raw.extends !== undefined ? categoryOf(raw.extends) : undefined;
  };

  const validate = (event: unknown): string[] => {
    const errors: string[] = [];
    if (!isPlainObject(event)) return ['$: an event is a JSON object'];
    const classUid = event['class_uid'];
    const classDefinition = [...eventFiles.keys()]
      .map((name) => ({ name, uid: read<RawDefinition>(eventFiles.get(name)!).uid, category: categoryOf(name) }))
      .find(
        ({ uid, category }) => uid !== undefined && category !== undefined && category.uid * 1000 + uid === classUid,
      );
    if (!classDefinition?.category) return [`class_uid: ${String(classUid)} is not a class in the schema`];
    const eventClass = resolve('event', classDefinition.name);
    const category = classDefinition.category;

    const metadata = event['metadata'];
    const profileList = isPlainObject(metadata) && Array.isArray(metadata['profiles']) ? metadata['profiles'] : [];
    const applied = new Set(profileList.filter((p): p is string => typeof p === 'string'));
    for (const profile of applied) {
      if (!eventClass.profiles.has(profile)) errors.push(`metadata.profiles: ${profile} is not a profile of the class`);
    }
    if (isPlainObject(metadata) && metadata['version'] !== version) {
      errors.push(`metadata.version: ${String(metadata['version'])} is not the schema version ${version}`);
    }

    const activityId = event['activity_id'];
    if (event['category_uid'] !== category.uid) errors.push(`category_uid: expected ${category.uid}`);
    if (typeof activityId === 'number' && event['type_uid'] !== (classUid as number) * 100 + activityId) {
      errors.push(`type_uid: expected class_uid * 100 + activity_id = ${(classUid as number) * 100 + activityId}`);
    }
    const activityCaption = eventClass.attributes.get('activity_id')?.enum?.[String(activityId)]?.caption;
    const expectedNames: Record<string, string> = {
      class_name: eventClass.caption,
      category_name: category.caption,
      ...(activityCaption !== undefined ? { type_name: `${eventClass.caption}: ${activityCaption}` } : {}),
    };
    for (const [name, expected] of Object.entries(expectedNames)) {
      if (name in event && event[name] !== expected) errors.push(`${name}: expected ${JSON.stringify(expected)}`);
    }

    const checkValue = (value: unknown, attr: Attribute, path: string): void => {
      if (attr.is_array) {
        if (!Array.isArray(value)) {
          errors.push(`${path}: expected an array`);
          return;
        }
        value.forEach((item, i) => checkOne(item, attr, `${path}[${i}]`));
      } else {
        checkOne(value, attr, path);
      }
    };

    const checkOne = (value: unknown, attr: Attribute, path: string): void => {
      const type = attr.type ?? 'string_t';
      if (type === 'object') {
        // Free-form by definition (`unmapped`): its content is the producer's.
        if (!isPlainObject(value)) errors.push(`${path}: expected an object`);
        return;
      }
      if (!type.endsWith('_t')) {
        checkEntity(value, resolve('object', type), path);
        return;
      }
      checkDataType(value, type, path);
      if (attr.enum && !CLASSIFICATION.has(attr.name) && !(String(value) in attr.enum)) {
        errors.push(`${path}: ${JSON.stringify(value)} is not in the enum (${Object.keys(attr.enum).join(', ')})`);
      }
    };

    const checkDataType = (value: unknown, type: string, path: string): void => {
      const spec = dataTypes[type];
      if (!spec) throw new Error(`unknown OCSF data type ${type}`);
      let primitive = type;
      while (dataTypes[primitive]?.type !== undefined) primitive = dataTypes[primitive]!.type!;
      const ok =
        primitive === 'string_t'
          ? typeof value === 'string'
          : primitive === 'integer_t'
            ? Number.isInteger(value) && (value as number) >= -(2 ** 31) && (value as number) < 2 ** 31
            : primitive === 'long_t'
              ? Number.isSafeInteger(value)
              : primitive === 'float_t'
                ? typeof value === 'number' && Number.isFinite(value)
                : primitive === 'boolean_t'
                  ? typeof value === 'boolean'
                  : true; // json_t: any JSON value
      if (!ok) {
        errors.push(`${path}: ${JSON.stringify(value)} is not a ${type}`);
        return;
      }
      if (spec.regex !== undefined && !new RegExp(spec.regex).test(String(value))) {
        errors.push(`${path}: ${JSON.stringify(value)} does not match the ${type} pattern`);
      }
      if (spec.max_len !== undefined && String(value).length > spec.max_len) {
        errors.push(`${path}: longer than ${spec.max_len} characters, the ${type} limit`);
      }
      if (spec.range !== undefined && ((value as number) < spec.range[0] || (value as number) > spec.range[1])) {
        errors.push(`${path}: ${String(value)} is outside the ${type} range ${spec.range.join('..')}`);
      }
    };

    const checkEntity = (value: unknown, definition: Definition, path: string): void => {
      if (!isPlainObject(value)) {
        errors.push(`${path}: expected a ${definition.name} object`);
        return;
      }
      if (definition.deprecated) errors.push(`${path}: the ${definition.name} object is deprecated`);
      for (const [name, child] of Object.entries(value)) {
        const childPath = path === '' ? name : `${path}.${name}`;
        const attr = attributeOf(definition, name);
        if (!attr) {
          errors.push(`${childPath}: ${definition.name} does not define ${name}`);
          continue;
        }
        if (attr.profile && !applied.has(attr.profile)) {
          errors.push(`${childPath}: belongs to the ${attr.profile} profile, which metadata.profiles does not list`);
        }
        if (attr['@deprecated'] !== undefined) errors.push(`${childPath}: deprecated`);
        checkValue(child, attr, childPath);
        const sibling = attr.sibling;
        const caption = attr.enum?.[String(child)]?.caption;
        if (
          sibling !== undefined &&
          sibling in value &&
          caption !== undefined &&
          String(child) !== OTHER &&
          !CLASSIFICATION.has(name) &&
          value[sibling] !== caption
        ) {
          errors.push(`${path === '' ? sibling : `${path}.${sibling}`}: expected ${JSON.stringify(caption)}`);
        }
      }
      for (const [name, attr] of definition.attributes) {
        if (attr.requirement !== 'required' || name in value) continue;
        if (attr.profile && !applied.has(attr.profile)) continue;
        errors.push(`${path === '' ? name : `${path}.${name}`}: required by ${definition.name}, missing`);
      }
      const { at_least_one: atLeastOne, just_one: justOne } = definition.constraints;
      if (atLeastOne && !atLeastOne.some((name) => name in value)) {
        errors.push(`${path || '$'}: ${definition.name} needs at least one of ${atLeastOne.join(', ')}`);
      }
      if (justOne && justOne.filter((name) => name in value).length !== 1) {
        errors.push(`${path || '$'}: ${definition.name} needs exactly one of ${justOne.join(', ')}`);
      }
    };

    checkEntity(event, eventClass, '');
    return errors;
  };

  return { validate, filesRead: () => [...cache.keys()].sort() };
}
