/**
 * HTML escaped by construction. `html` is a tagged template: every interpolated value is escaped
 * unless it is itself an `Html` fragment (from another `html` template) or a list of them. A page can
 * only be produced as `Html`, so a string from the database cannot reach the browser unescaped.
 */
export class Html {
  readonly #text: string;

  private constructor(text: string) {
    this.#text = text;
  }

  /** Only this module mints fragments from raw text: the template tag below, and `trustedHtml` for constants. */
  static fromTrusted(text: string): Html {
    return new Html(text);
  }

  toString(): string {
    return this.#text;
  }
}

export type Interpolation = Html | string | number | boolean | null | undefined | readonly Interpolation[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (character) => ESCAPES[character]!);
}

function render(value: Interpolation): string {
  if (value instanceof Html) return value.toString();
  if (Array.isArray(value)) return value.map(render).join('');
  // null, undefined and false render nothing, so `${condition && html`…`}` reads naturally.
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Interpolation[]): Html {
  let out = strings[0]!;
  values.forEach((value, index) => {
    out += render(value) + strings[index + 1]!;
  });
  return Html.fromTrusted(out);
}

/** JSON for a <pre>: escaped like any text. */
export function prettyJson(value: unknown): Html {
  return html`${JSON.stringify(value, null, 2)}`;
}
