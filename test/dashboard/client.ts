import { expect } from 'vitest';

/** A browser without a browser: cookies kept per client, forms posted as a browser posts them. */
export type Page = { status: number; html: string; location: string | null; setCookies: string[] };

export class DashboardClient {
  readonly cookies = new Map<string, string>();

  constructor(readonly baseUrl: string) {}

  async get(path: string): Promise<Page> {
    return this.#request('GET', path);
  }

  async post(path: string, form: Record<string, string>): Promise<Page> {
    return this.#request('POST', path, new URLSearchParams(form).toString());
  }

  /** Posts a form with the CSRF token of the page it is on, as the browser would. */
  async submit(fromPath: string, action: string, form: Record<string, string>): Promise<Page> {
    const from = await this.get(fromPath);
    return this.post(action, { _csrf: csrfOf(from.html), ...form });
  }

  async signIn(token: string): Promise<Page> {
    const signIn = await this.get('/dashboard/sign-in');
    const done = await this.post('/dashboard/sign-in', { _csrf: csrfOf(signIn.html), token, next: '/dashboard/invoices' });
    expect(done.status, done.html).toBe(303);
    return done;
  }

  async #request(method: string, path: string, body?: string): Promise<Page> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      redirect: 'manual',
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
        ...(this.cookies.size > 0 ? { cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') } : {}),
      },
      body,
    });
    const setCookies = response.headers.getSetCookie();
    for (const cookie of setCookies) {
      const [pair, ...attributes] = cookie.split(';');
      const [name, value] = [pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1)];
      if (value === '' || attributes.some((attribute) => attribute.trim() === 'Max-Age=0')) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { status: response.status, html: await response.text(), location: response.headers.get('location'), setCookies };
  }
}

export function csrfOf(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  expect(match, 'no CSRF field on the page').not.toBeNull();
  return match![1]!;
}

/** The text of the page's refusals: `CODE: message`. */
export function refusals(html: string): string[] {
  return [...html.matchAll(/<div class="alert" role="alert"><p><span class="code">([A-Z_]+)<\/span>: ([^<]*)/g)].map((match) => `${match[1]}: ${match[2]}`);
}

export const refusalCodes = (html: string) => refusals(html).map((text) => text.split(':')[0]);
