import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The web app builds to `web/dist`, which the Cairn server serves at `/` (same origin as the API,
 * so the session cookie just works). `npm run dev -w web` proxies `/api` to a server on :3000.
 */
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', sourcemap: false, chunkSizeWarningLimit: 900 },
  server: { proxy: { '/api': 'http://localhost:3000' } },
});
