import {
  ActionIcon,
  Alert,
  Anchor,
  Badge,
  Button,
  Group,
  Paper,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { IconFileTypePdf, IconPlus, IconTrash } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from '@tanstack/react-router';
import { type KeyboardEvent, useRef, useState } from 'react';
import { api, call, type Schemas } from '../../api/client';
import { ErrorAlert, PageSkeleton } from '../../shell/states';
import { STATUS_COLOR } from './QuotesPanel';

type Quote = Schemas['Quote'];
/** A row of the grid as typed: strings, so nothing the user typed is lost to parsing. */
type Row = {
  key: number;
  product_id: string | null;
  description: string;
  quantity: string;
  unit_price: string;
  discount_kind: 'percent' | 'amount';
  discount: string;
  tax_rate: string;
};

let nextKey = 1;
const rowsOf = (quote: Quote): Row[] =>
  quote.lines.map((l) => ({
    key: nextKey++,
    product_id: l.product_id,
    description: l.description,
    quantity: l.quantity,
    unit_price: l.unit_price,
    discount_kind: l.discount?.kind ?? 'percent',
    discount: l.discount?.value ?? '',
    tax_rate: l.tax_rate,
  }));
const blank = (): Row => ({
  key: nextKey++,
  product_id: null,
  description: '',
  quantity: '1',
  unit_price: '',
  discount_kind: 'percent',
  discount: '',
  tax_rate: '0',
});
const lineBody = (r: Row) => ({
  ...(r.product_id ? { product_id: r.product_id } : {}),
  ...(r.description.trim() ? { description: r.description.trim() } : {}),
  quantity: r.quantity.trim(),
  ...(r.unit_price.trim() ? { unit_price: r.unit_price.trim() } : {}),
  discount: r.discount.trim() ? { kind: r.discount_kind, value: r.discount.trim() } : null,
  tax_rate: r.tax_rate.trim() || '0',
});

/**
 * A quote's editor: a line grid made for the keyboard (Tab moves across a line; Enter in the
 * last line adds one and moves to it; Alt+Backspace removes the line), live totals computed by
 * the API as you type, then save, approve, send, and the PDF. A sent or accepted version shows
 * read-only; editing a sent one makes its next version.
 */
export function QuotePage() {
  const { id } = useParams({ strict: false });
  if (!id) throw new Error('A quote page needs an id');
  const quote = useQuery({
    queryKey: ['quotes', id],
    queryFn: () => call(api.GET('/api/v1/quotes/{id}', { params: { path: { id } } })),
  });
  // The customer's link from the last send: kept here, as the editor starts afresh with each change.
  const [sent, setSent] = useState<{ id: string; link: string } | null>(null);
  if (quote.error) throw quote.error;
  if (!quote.data) return <PageSkeleton />;
  return (
    <QuoteEditor
      key={`${quote.data.id}:${quote.data.updated_at}`}
      quote={quote.data}
      link={sent?.id === quote.data.id ? sent.link : null}
      setLink={(link) => setSent({ id: quote.data.id, link })}
    />
  );
}

function QuoteEditor({
  quote,
  link,
  setLink,
}: {
  quote: Quote;
  link: string | null;
  setLink: (link: string) => void;
}) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const editable = quote.status === 'draft' && !quote.read_only;
  const [rows, setRows] = useState<Row[]>(() => (quote.lines.length ? rowsOf(quote) : [blank()]));
  const [title, setTitle] = useState(quote.title);
  const [validUntil, setValidUntil] = useState(quote.valid_until);
  const [terms, setTerms] = useState(quote.terms ?? '');
  const [to, setTo] = useState(quote.recipient_email ?? '');
  const grid = useRef<HTMLTableElement>(null);

  const products = useQuery({
    queryKey: ['products', 'picker'],
    queryFn: () =>
      call(
        api.POST('/api/v1/products/query', {
          body: {
            fields: ['sku', 'name', 'tax_rate', 'active'],
            limit: 200,
            sort: [{ field: 'name', direction: 'asc' }],
          },
        }),
      ),
  });
  const productOptions = (products.data?.data ?? [])
    .filter((p) => p.active !== false)
    .map((p) => ({ value: String(p.id), label: `${p.name} (${p.sku})` }));

  // Live totals: the grid's numbers, sent a moment after the last keystroke.
  const [debounced] = useDebouncedValue(rows, 250);
  const totals = useQuery({
    queryKey: ['quote-totals', quote.currency, debounced.map(lineBody)],
    enabled: debounced.every((r) => r.quantity.trim() && r.unit_price.trim()),
    retry: false,
    queryFn: () =>
      call(
        api.POST('/api/v1/quotes/totals', {
          body: {
            currency: quote.currency,
            lines: debounced.map((r) => {
              const { product_id: _p, description: _d, unit_price, ...rest } = lineBody(r);
              return { ...rest, unit_price: unit_price ?? '0' };
            }),
          },
        }),
      ),
  });

  const update = (key: number, patch: Partial<Row>) =>
    setRows((all) => all.map((r) => (r.key === key ? { ...r, ...patch } : r)));
  const addRow = () => {
    setRows((all) => [...all, blank()]);
    requestAnimationFrame(() => {
      const inputs = grid.current?.querySelectorAll<HTMLInputElement>('tbody tr:last-child input');
      inputs?.[0]?.focus();
    });
  };
  const onKey = (row: Row) => (e: KeyboardEvent) => {
    if (e.key === 'Enter' && rows.at(-1)?.key === row.key) {
      e.preventDefault();
      addRow();
    } else if (e.key === 'Backspace' && e.altKey) {
      e.preventDefault();
      setRows((all) => (all.length > 1 ? all.filter((r) => r.key !== row.key) : all));
    }
  };
  const pickProduct = async (row: Row, productId: string | null) => {
    const product = products.data?.data.find((p) => p.id === productId);
    update(row.key, {
      product_id: productId,
      description: product ? String(product.name) : row.description,
      tax_rate: product && typeof product.tax_rate === 'string' ? product.tax_rate : row.tax_rate,
    });
    if (!productId) return;
    const price = await call(
      api.GET('/api/v1/products/{id}/price', {
        params: {
          path: { id: productId },
          query: {
            ...(quote.price_list_id ? { price_list_id: quote.price_list_id } : {}),
            quantity: row.quantity || '1',
          },
        },
      }),
    ).catch(() => null);
    if (price?.unit_price) update(row.key, { unit_price: price.unit_price });
  };

  const refresh = (next: Quote) => {
    queryClient.setQueryData(['quotes', next.id], next);
    void queryClient.invalidateQueries({ queryKey: ['quotes', 'of'] });
  };
  const save = useMutation({
    mutationFn: () =>
      call(
        api.PATCH('/api/v1/quotes/{id}', {
          params: { path: { id: quote.id } },
          body: { title, valid_until: validUntil, terms: terms || null, lines: rows.map(lineBody) },
        }),
      ),
    onSuccess: (next) => {
      refresh(next);
      if (next.id !== quote.id) void navigate({ to: '/quotes/$id', params: { id: next.id } });
      notifications.show({ color: 'green', message: `Saved ${next.number}` });
    },
  });
  const newVersion = useMutation({
    mutationFn: () =>
      call(api.PATCH('/api/v1/quotes/{id}', { params: { path: { id: quote.id } }, body: {} })),
    onSuccess: (next) => {
      refresh(next);
      void navigate({ to: '/quotes/$id', params: { id: next.id } });
    },
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  const approve = useMutation({
    mutationFn: () => call(api.POST('/api/v1/quotes/{id}/approve', { params: { path: { id: quote.id } } })),
    onSuccess: refresh,
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  const send = useMutation({
    // A draft is saved as the grid shows it, then sent.
    mutationFn: async () => {
      if (editable)
        await call(
          api.PATCH('/api/v1/quotes/{id}', {
            params: { path: { id: quote.id } },
            body: { title, valid_until: validUntil, terms: terms || null, lines: rows.map(lineBody) },
          }),
        );
      return call(
        api.POST('/api/v1/quotes/{id}/send', { params: { path: { id: quote.id } }, body: to ? { to } : {} }),
      );
    },
    onSuccess: (res) => {
      setLink(res.public_url);
      refresh(res.quote);
      notifications.show({ color: 'green', message: `Sent to ${res.quote.recipient_email}` });
    },
    onError: (e) => notifications.show({ color: 'red', title: 'Not sent', message: e.message }),
  });

  const problem = save.error ?? totals.error;
  const t = totals.data;
  const needsApproval =
    editable && (t?.approval_required ?? quote.approval.required) && !quote.approval.approved_at;

  return (
    <Stack>
      <Group justify="space-between">
        <Group>
          <Title order={1} size="h2">
            Quote {quote.number}
            {quote.version > 1 ? ` v${quote.version}` : ''}
          </Title>
          <Badge color={STATUS_COLOR[quote.status]}>
            {quote.read_only && quote.status === 'sent' ? 'superseded' : quote.status}
          </Badge>
        </Group>
        <Group>
          {quote.opportunity_id && (
            <Anchor
              renderRoot={(p) => (
                <Link {...p} to="/opportunities/$id" params={{ id: quote.opportunity_id! }} />
              )}
            >
              Deal
            </Anchor>
          )}
          <Button
            component="a"
            href={`/api/v1/quotes/${quote.id}/pdf`}
            target="_blank"
            variant="default"
            leftSection={<IconFileTypePdf size={16} />}
          >
            PDF
          </Button>
        </Group>
      </Group>
      {quote.acceptance && (
        <Alert color="green" title="Accepted">
          By {quote.acceptance.name} on {new Date(quote.acceptance.at).toLocaleString()} (fingerprint{' '}
          {quote.acceptance.content_sha256?.slice(0, 12)}…)
        </Alert>
      )}
      {quote.rejection && (
        <Alert color="red" title="Declined">
          {quote.rejection.reason ?? 'No reason given'}
        </Alert>
      )}
      {quote.superseded_by && (
        <Alert color="gray">
          A later version replaces this one:{' '}
          <Anchor renderRoot={(p) => <Link {...p} to="/quotes/$id" params={{ id: quote.superseded_by! }} />}>
            open it
          </Anchor>
        </Alert>
      )}
      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        <TextInput
          label="Title"
          value={title}
          onChange={(e) => setTitle(e.currentTarget.value)}
          disabled={!editable}
        />
        <TextInput
          label="Valid until"
          type="date"
          value={validUntil}
          onChange={(e) => setValidUntil(e.currentTarget.value)}
          disabled={!editable}
        />
        <TextInput label="Currency" value={quote.currency} disabled />
      </SimpleGrid>
      <Paper withBorder p="xs">
        <Table ref={grid} aria-label="Quote lines" verticalSpacing={4}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th w="22%">Product</Table.Th>
              <Table.Th>Description</Table.Th>
              <Table.Th w={90}>Quantity</Table.Th>
              <Table.Th w={110}>Unit price</Table.Th>
              <Table.Th w={150}>Discount</Table.Th>
              <Table.Th w={80}>Tax %</Table.Th>
              <Table.Th w={110} ta="right">
                Net
              </Table.Th>
              <Table.Th w={40} />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((r, i) => (
              <Table.Tr key={r.key}>
                <Table.Td>
                  <Select
                    aria-label={`Line ${i + 1} product`}
                    data={productOptions}
                    value={r.product_id}
                    onChange={(v) => void pickProduct(r, v)}
                    searchable
                    clearable
                    placeholder="Free text"
                    disabled={!editable}
                  />
                </Table.Td>
                {(['description', 'quantity', 'unit_price'] as const).map((k) => (
                  <Table.Td key={k}>
                    <TextInput
                      aria-label={`Line ${i + 1} ${k.replace('_', ' ')}`}
                      value={r[k]}
                      inputMode={k === 'description' ? 'text' : 'decimal'}
                      onChange={(e) => update(r.key, { [k]: e.currentTarget.value })}
                      onKeyDown={onKey(r)}
                      disabled={!editable}
                    />
                  </Table.Td>
                ))}
                <Table.Td>
                  <Group gap={4} wrap="nowrap">
                    <TextInput
                      aria-label={`Line ${i + 1} discount`}
                      value={r.discount}
                      inputMode="decimal"
                      onChange={(e) => update(r.key, { discount: e.currentTarget.value })}
                      onKeyDown={onKey(r)}
                      disabled={!editable}
                      w={80}
                    />
                    <Select
                      aria-label={`Line ${i + 1} discount kind`}
                      data={[
                        { value: 'percent', label: '%' },
                        { value: 'amount', label: quote.currency },
                      ]}
                      value={r.discount_kind}
                      onChange={(v) =>
                        update(r.key, { discount_kind: v === 'amount' ? 'amount' : 'percent' })
                      }
                      allowDeselect={false}
                      disabled={!editable}
                      w={70}
                    />
                  </Group>
                </Table.Td>
                <Table.Td>
                  <TextInput
                    aria-label={`Line ${i + 1} tax rate`}
                    value={r.tax_rate}
                    inputMode="decimal"
                    onChange={(e) => update(r.key, { tax_rate: e.currentTarget.value })}
                    onKeyDown={onKey(r)}
                    disabled={!editable}
                  />
                </Table.Td>
                <Table.Td ta="right">{t?.lines[i]?.net ?? '…'}</Table.Td>
                <Table.Td>
                  {editable && rows.length > 1 && (
                    <ActionIcon
                      variant="subtle"
                      color="red"
                      aria-label={`Remove line ${i + 1}`}
                      onClick={() => setRows((all) => all.filter((x) => x.key !== r.key))}
                    >
                      <IconTrash size={16} />
                    </ActionIcon>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        {editable && (
          <Button variant="subtle" size="xs" leftSection={<IconPlus size={14} />} onClick={addRow} mt="xs">
            Add line (Enter in the last line)
          </Button>
        )}
      </Paper>
      {problem && <ErrorAlert error={problem} />}
      <Group justify="flex-end" align="flex-start">
        <Stack gap={2} miw={280} data-testid="quote-totals">
          <Group justify="space-between">
            <Text>Subtotal</Text>
            <Text>{t?.subtotal ?? quote.subtotal}</Text>
          </Group>
          <Group justify="space-between">
            <Text>Discounts</Text>
            <Text>−{t?.discount_total ?? quote.discount_total}</Text>
          </Group>
          {(t?.taxes ?? quote.taxes).map((x) => (
            <Group key={x.rate} justify="space-between">
              <Text>Tax {x.rate} %</Text>
              <Text>{x.tax}</Text>
            </Group>
          ))}
          <Group justify="space-between">
            <Text fw={700}>Total</Text>
            <Text fw={700} data-testid="quote-total">
              {t?.total ?? quote.total} {quote.currency}
            </Text>
          </Group>
        </Stack>
      </Group>
      <Textarea
        label="Terms"
        value={terms}
        onChange={(e) => setTerms(e.currentTarget.value)}
        disabled={!editable}
        autosize
      />
      {needsApproval && (
        <Alert color="yellow" title="Approval needed">
          A line's discount is above your organization's threshold: an admin approves the quote before it is
          sent.
          <Group mt="xs">
            <Button size="xs" onClick={() => approve.mutate()} loading={approve.isPending}>
              Approve
            </Button>
          </Group>
        </Alert>
      )}
      {quote.approval.approved_at && (
        <Text size="sm" c="dimmed">
          Discount approved on {new Date(quote.approval.approved_at).toLocaleString()}
        </Text>
      )}
      <Group justify="space-between">
        <Group>
          {editable && (
            <Button onClick={() => save.mutate()} loading={save.isPending}>
              Save
            </Button>
          )}
          {!editable && quote.status !== 'accepted' && !quote.read_only && (
            <Button variant="default" onClick={() => newVersion.mutate()} loading={newVersion.isPending}>
              Edit (new version)
            </Button>
          )}
        </Group>
        {(quote.status === 'draft' || quote.status === 'sent') && !quote.read_only && (
          <Group align="flex-end">
            <TextInput
              label="Send to"
              type="email"
              value={to}
              onChange={(e) => setTo(e.currentTarget.value)}
            />
            <Button
              onClick={() => send.mutate()}
              loading={send.isPending}
              disabled={editable && save.isPending}
            >
              {quote.status === 'sent' ? 'Send again' : 'Send'}
            </Button>
          </Group>
        )}
      </Group>
      {link && (
        <Alert color="blue" title="Customer link">
          <Anchor href={link} target="_blank" data-testid="public-link">
            {link}
          </Anchor>
        </Alert>
      )}
    </Stack>
  );
}
