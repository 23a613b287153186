import { TemplateDef, type TemplateDefOut } from '../template.types.js';
import { productCatalogTemplate } from './product-catalog.template.js';
import { recruitingTemplate } from './recruiting.template.js';
import { surrogacyTemplate } from './surrogacy.template.js';

/** The templates Cairn ships, each checked by `TemplateDef` when the server loads (a bad one fails boot and tests). */
export const TEMPLATES: TemplateDefOut[] = [
  surrogacyTemplate,
  recruitingTemplate,
  productCatalogTemplate,
].map((t) => TemplateDef.parse(t));
