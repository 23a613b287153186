/**
 * This page's Content-Security-Policy nonce for `<style>` elements: the server puts a fresh one
 * into each `index.html` (`<meta property="csp-nonce" nonce="…">`, written by Vite's
 * `html.cspNonce`) and into the `style-src` of the same response. Mantine (its CSS variables) and
 * Tiptap insert `<style>` tags at run time and need it; the browser reads the nonce only through
 * the `nonce` property (CSP3 nonce hiding), so styles injected by anyone else cannot copy it.
 */
export function styleNonce(): string {
  return document.querySelector<HTMLMetaElement>('meta[property="csp-nonce"]')?.nonce ?? '';
}
