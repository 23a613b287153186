import type { TemplateDefIn } from '../template.types.js';

/**
 * "Product catalog": products are a standard object (issue 29) with SKU, name, unit and tax rate,
 * and their prices and currencies live in price lists; the template adds what a catalog keeps
 * beside them (category, brand, the product page, the list price shown to customers) and views.
 */
export const productCatalogTemplate: TemplateDefIn = {
  key: 'product_catalog',
  name: 'Product catalog',
  description:
    'Adds catalog fields to products (category, brand, product page, list price; SKU, prices and currencies are built in) and catalog views.',
  standard_fields: [
    {
      object: 'product',
      fields: [
        {
          label: 'Category',
          key: 'category',
          type: 'select',
          options: [
            { value: 'hardware', label: 'Hardware' },
            { value: 'software', label: 'Software' },
            { value: 'service', label: 'Service' },
            { value: 'subscription', label: 'Subscription' },
          ],
        },
        { label: 'Brand', key: 'brand', type: 'text' },
        { label: 'Product page', key: 'product_page', type: 'url' },
        { label: 'List price', key: 'list_price', type: 'currency' },
      ],
    },
  ],
  views: [
    {
      object: 'product',
      name: 'Active catalog',
      query: {
        filter: { field: 'active', op: 'eq', value: true },
        sort: [{ field: 'name', direction: 'asc' }],
      },
      columns: ['sku', 'name', 'category', 'brand', 'list_price'],
    },
  ],
};
