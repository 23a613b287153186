import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/**
 * The placeholder Vite writes as the `nonce` of `index.html`'s tags and of its
 * `<meta property="csp-nonce">`; the server replaces it with each response's CSP nonce
 * (server/src/modules/web/web.routes.ts), which the app hands to Mantine and Tiptap for the
 * `<style>` elements they insert.
 */
const CSP_NONCE_PLACEHOLDER = 'CAIRN_CSP_NONCE';

/** Files worth compressing ahead of time; `index.html` is not among them (the server fills in its nonce). */
const PRECOMPRESSIBLE = /\.(js|mjs|css|svg|json|txt|map)$/;

/**
 * Writes a brotli (quality 11) and a gzip (level 9) copy next to every compressible asset of the
 * build, where smaller, so the server sends them as they are (`@fastify/static` `preCompressed`)
 * instead of compressing on every request at a lower level.
 */
function precompress(): Plugin {
  let outDir = 'dist';
  return {
    name: 'cairn-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
    },
    closeBundle() {
      const walk = (dir: string): string[] =>
        readdirSync(dir).flatMap((name) => {
          const file = path.join(dir, name);
          return statSync(file).isDirectory() ? walk(file) : [file];
        });
      for (const file of walk(outDir).filter((f) => PRECOMPRESSIBLE.test(f))) {
        const source = readFileSync(file);
        const br = brotliCompressSync(source, {
          params: {
            [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
            [constants.BROTLI_PARAM_SIZE_HINT]: source.length,
          },
        });
        const gz = gzipSync(source, { level: 9 });
        if (br.length < source.length) writeFileSync(`${file}.br`, br);
        if (gz.length < source.length) writeFileSync(`${file}.gz`, gz);
      }
    },
  };
}

/**
 * The web app builds to `web/dist`, which the Cairn server serves at `/` (same origin as the API,
 * so the session cookie just works). `npm run dev -w web` proxies `/api` to a server on :3000.
 */
export default defineConfig({
  plugins: [react(), precompress()],
  html: { cspNonce: CSP_NONCE_PLACEHOLDER },
  build: { outDir: 'dist', sourcemap: false, chunkSizeWarningLimit: 900 },
  server: { proxy: { '/api': 'http://localhost:3000' } },
});
