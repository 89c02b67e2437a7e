/** A command-line value that must be a whole number in a range (`1_000_000` is accepted too). */
export function wholeNumber(name: string, text: string, min: number, max: number): number {
  const value = Number(text.replaceAll('_', ''));
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`--${name} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

/** A comma-separated list of whole numbers, e.g. `--clients 8,32`. */
export function wholeNumbers(name: string, text: string, min: number, max: number): number[] {
  return text.split(',').map((part) => wholeNumber(name, part.trim(), min, max));
}
