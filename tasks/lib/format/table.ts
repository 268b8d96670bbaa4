/** Plain-text tables and CSV: pure functions from cells to text. */

type Cell = string | null;

const width = (text: string) => Array.from(text).length;

function pad(text: string, size: number, right: boolean): string {
  const fill = ' '.repeat(Math.max(0, size - width(text)));
  return right ? fill + text : text + fill;
}

/**
 * psql's aligned format: a header, a rule, one line per row, nulls empty.
 * `rightAligned[i]` right-aligns column i (numbers). A cell with a line
 * break shows its first line and `…`, so that every row stays one line.
 */
export function alignedTable(header: string[], rows: Cell[][], rightAligned: boolean[] = []): string[] {
  const shown = rows.map((row) => row.map((cell) => (cell === null ? '' : cell.includes('\n') ? `${cell.split('\n')[0]}…` : cell)));
  const sizes = header.map((h, i) => Math.max(width(h), ...shown.map((row) => width(row[i]))));
  const line = (cells: string[], align: boolean) => cells.map((c, i) => pad(c, sizes[i], align && !!rightAligned[i])).join(' | ').trimEnd();
  return [
    ` ${header.map((h, i) => pad(h, sizes[i], false)).join(' | ')}`.trimEnd(),
    sizes.map((s) => '-'.repeat(s + 2)).join('+'),
    ...shown.map((row) => ` ${line(row, true)}`),
  ];
}

/** RFC 4180: fields with a comma, quote or line break are quoted; a null is an empty field. */
export function csvLine(cells: Cell[]): string {
  return cells.map((cell) => {
    if (cell === null) return '';
    return /[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
  }).join(',');
}

const UNITS = ['bytes', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** pg_size_pretty's rounding: below 10 240 of a unit it stays in that unit. */
export function prettySize(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 10_240 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Math.round(value)} ${UNITS[unit]}`;
}

export const count = (n: number): string => n.toLocaleString('en-US');
