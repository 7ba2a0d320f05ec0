// One reading of a whole number from text, for flags, relay settings and ports alike.

/** The whole number `text` spells (digits only: no sign, exponent, hex or blanks) when it lies in min..max; else undefined. */
export function wholeNumber(text: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (!/^\d{1,15}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= min && n <= max ? n : undefined;
}
