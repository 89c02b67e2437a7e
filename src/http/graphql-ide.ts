import type { Express, NextFunction, Request, Response } from 'express';
import { ruruHTML, type RuruServerConfig } from 'ruru/server';
import { serveStatic } from 'ruru/static';

const STATIC_PATH = '/ruru-static/';

/**
 * The operators' GraphQL IDE (Ruru, a GraphiQL) at GET /graphql for browsers, with every asset served
 * from node_modules: no request leaves the machine. `serveStatic` must be mounted without a prefix.
 */
export function mountGraphQLIde(app: Express, devOperatorToken?: string): void {
  // serveStatic is an async function for every request; only its own paths go through it.
  const assets = serveStatic(STATIC_PATH);
  app.use((req: Request, res: Response, next: NextFunction) => (req.url.startsWith(STATIC_PATH) ? assets(req, res, next) : next()));
  const html = ruruHTML({
    endpoint: '/graphql',
    staticPath: STATIC_PATH,
    clientConfig: {
      // The development token only on the embedded database (never in production); a placeholder otherwise.
      defaultHeaders: JSON.stringify({ Authorization: `Bearer ${devOperatorToken ?? '<paste your operator token>'}` }, null, 2),
      defaultQuery: '{\n  invoices(first: 5) {\n    edges { node { id number status currency amountDue amountCaptured } }\n  }\n}\n',
    } as RuruServerConfig['clientConfig'], // ruru's typings mark every client option required
  });
  app.get('/graphql', (req: Request, res: Response, next: NextFunction) => {
    // API clients (Accept: application/json or */*) fall through to Apollo.
    if (req.accepts(['application/json', 'text/html']) !== 'text/html') return next();
    res.type('html').send(html);
  });
}
