/**
 * JSON with bigint versions written as plain numbers (versions may exceed
 * 2^53) and dates as ISO strings.
 */
const MARK = '@@tidemark-bigint@@';

export function toJson(value: unknown): string {
  const text = JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? `${MARK}${v}` : v), 2);
  return text.replace(new RegExp(`"${MARK}(-?\\d+)"`, 'g'), '$1');
}
