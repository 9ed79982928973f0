/**
 * Azure tags: the owner tags the reconciler writes, and Azure's rules for the tags users add.
 */
import { isPlainObject, type Problem } from './problem';

export const TAG_NAMESPACE = 'cdk8s-azure.dev-namespace';
export const TAG_NAME = 'cdk8s-azure.dev-name';
export const TAG_UID = 'cdk8s-azure.dev-uid';
/** Which cluster (reconciler installation) owns the resource, so that two clusters never adopt each other's servers. */
export const TAG_CLUSTER = 'cdk8s-azure.dev-cluster';
export const OWNER_TAGS: readonly string[] = [TAG_NAMESPACE, TAG_NAME, TAG_UID, TAG_CLUSTER];

/** Every tag name starting with this (in any letter case: Azure tag names are case-insensitive) is the reconciler's. */
export const OWNER_TAG_PREFIX = 'cdk8s-azure.dev';

/** Azure's limits on tags of one resource. */
export const MAX_TAGS = 50;
export const MAX_TAG_NAME_LENGTH = 512;
export const MAX_TAG_VALUE_LENGTH = 256;
/** Characters Azure refuses in tag names. */
export const TAG_NAME_FORBIDDEN_CHARACTERS = /[<>%&\\?/]/;
/** Prefixes Azure keeps for its own tags (case-insensitive). */
export const RESERVED_TAG_PREFIXES: readonly string[] = ['microsoft', 'azure', 'windows'];

/** Whether `name` is (or looks like, in another letter case) an owner tag, which users may not set. */
export function isOwnerTagName(name: string): boolean {
  return name.toLowerCase().startsWith(OWNER_TAG_PREFIX);
}

/**
 * Problems with the tags a user sets, by Azure's rules. `reservedCount` tags of the 50 Azure allows are left for the
 * reconciler's owner tags.
 */
export function validateTags(tags: unknown, reservedCount: number = OWNER_TAGS.length): Problem[] {
  if (tags === undefined) {
    return [];
  }
  if (!isPlainObject(tags)) {
    return [{ field: 'tags', value: tags, expected: 'must be a map of tag names to string values' }];
  }
  const problems: Problem[] = [];
  const names = Object.keys(tags);
  const allowed = MAX_TAGS - reservedCount;
  if (names.length > allowed) {
    problems.push({
      field: 'tags',
      value: `${names.length} tags`,
      expected: `at most ${allowed} tags (Azure allows ${MAX_TAGS} on a resource; the reconciler adds ${reservedCount}); remove ${names.length - allowed}`,
    });
  }
  for (const name of names) {
    const value = tags[name];
    const field = `tags.${name}`;
    const nameProblem = tagNameProblem(name);
    if (nameProblem !== undefined) {
      problems.push({ field, value, expected: nameProblem });
    }
    if (typeof value !== 'string') {
      problems.push({ field, value, expected: 'a tag value must be a string (quote numbers and booleans, e.g. "1")' });
    } else if (value.length > MAX_TAG_VALUE_LENGTH) {
      problems.push({ field, value, expected: `a tag value may have at most ${MAX_TAG_VALUE_LENGTH} characters (it has ${value.length})` });
    }
  }
  return problems;
}

/** Why Azure (or the reconciler) refuses a tag name, or undefined. */
function tagNameProblem(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (name.length === 0) {
    return 'a tag name may not be empty';
  }
  if (name.length > MAX_TAG_NAME_LENGTH) {
    return `a tag name may have at most ${MAX_TAG_NAME_LENGTH} characters (it has ${name.length})`;
  }
  if (TAG_NAME_FORBIDDEN_CHARACTERS.test(name)) {
    return 'a tag name may not contain any of < > % & \\ ? /';
  }
  const prefix = RESERVED_TAG_PREFIXES.find(reserved => lower.startsWith(reserved));
  if (prefix !== undefined) {
    return `tag names starting with "${prefix}" (in any letter case) are reserved by Azure; rename the tag`;
  }
  if (isOwnerTagName(name)) {
    return `tag names starting with "${OWNER_TAG_PREFIX}" (in any letter case) are the reconciler's owner tags (${OWNER_TAGS.join(', ')}); remove it`;
  }
  return undefined;
}
