// Lets Node 20 load npm wukongimjssdk@1.0.4 (ESM with extensionless relative imports and no
// "type":"module"): resolve retries SPEC + '.js' and maps '.' to './index.js'; load treats the
// package's lib/ files as modules. Used with `node --import ./wukong_register.mjs`.
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent(`
export async function resolve(spec, ctx, next) {
  try { return await next(spec, ctx); } catch (e) {
    if (spec === '.') return next('./index.js', ctx);
    if (spec.startsWith('.')) return next(spec + '.js', ctx);
    throw e;
  }
}
export async function load(url, ctx, next) {
  if (url.includes('/wukongimjssdk/lib/')) return next(url, { ...ctx, format: 'module' });
  return next(url, ctx);
}`),
  import.meta.url,
);
