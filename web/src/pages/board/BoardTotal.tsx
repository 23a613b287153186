import { Text, Tooltip } from '@mantine/core';
import { money, type Schemas } from '../../api/client';

/**
 * The board's open value in the organization's currency, plain and weighted by stage probability,
 * with the day whose rates applied; a currency without a rate is named apart, never added in.
 * Absent when the caller's role may not see amounts.
 */
export function BoardTotalLine({ total }: { total: Schemas['BoardTotal'] | undefined }) {
  if (!total) return null;
  const rates = total.rates.map((r) => `1 ${r.currency} = ${r.rate} ${total.currency} (from ${r.valid_on})`);
  return (
    <Text size="sm" data-testid="board-total">
      <Tooltip
        label={rates.length ? rates.join(' · ') : `All open deals are in ${total.currency}`}
        multiline
        w={320}
      >
        <span>
          Open pipeline <strong>{money(total.value, total.currency)}</strong>, weighted{' '}
          <strong>{money(total.weighted, total.currency)}</strong>
          {rates.length ? ` (rates of ${total.as_of})` : ''}
        </span>
      </Tooltip>
      {total.unconverted.length > 0 && (
        <Text span size="sm" c="orange.9">
          {' · not converted, no exchange rate: '}
          {total.unconverted.map((u) => money(u.value, u.currency)).join(' · ')}
        </Text>
      )}
    </Text>
  );
}
