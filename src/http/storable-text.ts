import { z } from 'zod';

/**
 * A string Postgres can store: a text value cannot hold U+0000, which Postgres would refuse only
 * once the request is under way. Refused here instead, as the client's mistake (400).
 */
export const storableText = z.string().refine((value) => !value.includes('\u0000'), { message: 'must not contain NUL characters' });
